// Check: CI gate thresholds evaluated against a report.
//
// Contract: pure function, any thread. Every requested limit yields one
// CheckResult naming the metric, its value and the limit, so a failing CI
// log says exactly what failed. A limit on a metric the trace cannot
// provide (no kernel records for a syscall limit) fails: a gate that cannot
// see must not pass. An LRU hit-rate limit passes when the LRU was never
// consulted, since there was nothing to miss.
#pragma once

#include "analysis/report.h"

#include <optional>
#include <string>
#include <vector>

namespace hk::analyze {

struct CheckLimits {
  std::optional<uint64_t> max_syscalls;
  std::optional<double> max_syscall_share_pct;
  std::optional<double> min_lru_hit_rate;  // 0..1
  std::vector<std::string> forbid;         // diagnosis ids
};

struct CheckResult {
  std::string name;  // "max-syscalls", "forbid lru_unreachable", ...
  bool ok = false;
  std::string detail;  // "6455 > 200"
};

std::vector<CheckResult> run_checks(const Report& r, const CheckLimits& limits);

}  // namespace hk::analyze
