#include "analysis/check.h"

#include <fmt/format.h>

namespace hk::analyze {

std::vector<CheckResult> run_checks(const Report& r, const CheckLimits& l) {
  std::vector<CheckResult> out;
  if (l.max_syscalls) {
    if (!r.trace.has_kernel) {
      out.push_back({"max-syscalls", false, "the trace has no kernel records (recorded without BPF)"});
    } else {
      const uint64_t n = r.syscalls.total_calls();
      out.push_back({"max-syscalls", n <= *l.max_syscalls,
                     fmt::format("{} memory syscalls {} {}", n, n <= *l.max_syscalls ? "<=" : ">", *l.max_syscalls)});
    }
  }
  if (l.max_syscall_share_pct) {
    if (!r.trace.has_kernel) {
      out.push_back({"max-syscall-share", false, "the trace has no kernel records (recorded without BPF)"});
    } else {
      const double s = r.syscall_share_pct();
      const bool ok = s <= *l.max_syscall_share_pct;
      out.push_back({"max-syscall-share", ok,
                     fmt::format("syscalls took {:.2f}% of the run {} {:.2f}%", s, ok ? "<=" : ">",
                                 *l.max_syscall_share_pct)});
    }
  }
  if (l.min_lru_hit_rate) {
    const double h = r.allocator.lru_hit_rate();
    if (!r.trace.has_allocator) {
      out.push_back({"min-lru-hit-rate", false, "the trace has no allocator events (recorded without preload)"});
    } else if (h < 0) {
      out.push_back({"min-lru-hit-rate", true, "no LRU lookups in this run"});
    } else {
      const bool ok = h >= *l.min_lru_hit_rate;
      out.push_back({"min-lru-hit-rate", ok,
                     fmt::format("LRU hit rate {:.3f} {} {:.3f} ({} hits, {} misses)", h, ok ? ">=" : "<",
                                 *l.min_lru_hit_rate, r.allocator.count(HK_EV_LRU_POP_HIT),
                                 r.allocator.count(HK_EV_LRU_POP_MISS))});
    }
  }
  for (const std::string& id : l.forbid) {
    const Diagnosis* found = nullptr;
    for (const Diagnosis& d : r.diagnoses)
      if (d.id == id) found = &d;
    out.push_back({"forbid " + id, found == nullptr, found ? found->summary : "not raised"});
  }
  return out;
}

}  // namespace hk::analyze
