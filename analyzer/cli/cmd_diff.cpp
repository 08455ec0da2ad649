// `hakmem-analyze diff A B [--format text|json]`: the before/after table of
// two recordings (A before, B after), with signed changes and percentages
// and the diagnoses that appeared or went away. Exit 2 on unusable input.
#include "analysis/analysis.h"
#include "cli/command.h"
#include "analysis/diff.h"
#include "cli/exit_codes.h"
#include "cli/global_options.h"
#include "cli/progress.h"

#include <fmt/format.h>

#include <cstdio>

namespace hk::analyze {
namespace {

Register reg{Command{
    "diff", "Compare two traces: each metric's change, and diagnoses that appeared or went away",
    [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<std::string>();
      auto b = std::make_shared<std::string>();
      auto format = std::make_shared<std::string>("text");
      sub.add_option("A", *a, "trace before the change")->required();
      sub.add_option("B", *b, "trace after the change")->required();
      sub.add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
      sub.footer("Example: hakmem-analyze diff drain-off.trace drain-on.trace");
      return [a, b, format]() {
        std::string current;
        try {
          current = *a;
          auto read = [](const std::string& path) {
            Progress progress(path);
            return analyze_trace(path, {}, progress.fn());
          };
          Report ra = read(*a);
          current = *b;
          Report rb = read(*b);
          const ReportDiff d = diff_reports(ra, rb);
          const std::string out = *format == "json" ? render_diff_json(d, *a, *b)
                                                    : render_diff_text(d, *a, *b, use_colour(stdout));
          std::fwrite(out.data(), 1, out.size(), stdout);
          return kExitOk;
        } catch (const std::exception& e) {
          fmt::print(stderr, "hakmem-analyze diff: {}: {}\n", current, e.what());
          return kExitBadInput;
        }
      };
    }}};

}  // namespace
}  // namespace hk::analyze
