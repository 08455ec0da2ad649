// `hakmem-analyze check FILE [--max-syscalls N] [--max-syscall-share PCT]
// [--min-lru-hit-rate R] [--forbid ID]...`: the CI gate. Exit 0 when every
// limit holds, 1 when one fails (each failure named on stdout), 2 on bad
// input (unusable file, unknown diagnosis id, no limit given).
#include "analysis/analysis.h"
#include "analysis/check.h"
#include "cli/command.h"
#include "analysis/diagnoses.h"
#include "cli/exit_codes.h"
#include "cli/progress.h"

#include <fmt/format.h>

#include <algorithm>

namespace hk::analyze {
namespace {

struct Options {
  std::string file;
  CheckLimits limits;
};

Register reg{Command{
    "check", "Gate CI on a trace: exit 1 when a syscall, LRU or diagnosis limit fails",
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<Options>();
      sub.add_option("FILE", o->file, "trace file written by `record`")->required();
      sub.add_option("--max-syscalls", o->limits.max_syscalls, "most memory syscalls allowed (kernel view)")
          ->check(CLI::NonNegativeNumber);
      sub.add_option("--max-syscall-share", o->limits.max_syscall_share_pct,
                     "most kernel time in memory syscalls allowed, in percent of wall time")
          ->check(CLI::Range(0.0, 100000.0));
      sub.add_option("--min-lru-hit-rate", o->limits.min_lru_hit_rate, "least LRU hit rate allowed, 0..1")
          ->check(CLI::Range(0.0, 1.0));
      sub.add_option("--forbid", o->limits.forbid, "fail if this diagnosis is raised (repeatable)");
      sub.footer("Examples:\n"
                 "  hakmem-analyze check run.trace --max-syscalls 100 --forbid lru_unreachable\n"
                 "  hakmem-analyze check run.trace --min-lru-hit-rate 0.5 --max-syscall-share 5");
      return [o]() {
        const auto& ids = diagnosis_ids();
        for (const std::string& id : o->limits.forbid) {
          if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
            std::string known;
            for (const std::string& k : ids) known += (known.empty() ? "" : ", ") + k;
            fmt::print(stderr, "hakmem-analyze check: unknown diagnosis id '{}' (known: {})\n", id, known);
            return kExitBadInput;
          }
        }
        const CheckLimits& l = o->limits;
        if (!l.max_syscalls && !l.max_syscall_share_pct && !l.min_lru_hit_rate && l.forbid.empty()) {
          fmt::print(stderr, "hakmem-analyze check: no limit given (see --help)\n");
          return kExitBadInput;
        }
        Report r;
        try {
          Progress progress(o->file);
          r = analyze_trace(o->file, {}, progress.fn());
        } catch (const std::exception& e) {
          fmt::print(stderr, "hakmem-analyze check: {}: {}\n", o->file, e.what());
          return kExitBadInput;
        }
        bool all = true;
        for (const CheckResult& c : run_checks(r, l)) {
          fmt::print("{} {}: {}\n", c.ok ? "ok  " : "FAIL", c.name, c.detail);
          all = all && c.ok;
        }
        return all ? kExitOk : kExitCheckFailed;
      };
    }}};

}  // namespace
}  // namespace hk::analyze
