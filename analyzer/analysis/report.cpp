#include "analysis/report.h"

#include <algorithm>

namespace hk::analyze {

double Report::syscall_share_pct() const {
  const uint64_t wall = trace.wall_ns();
  if (wall == 0) return 0.0;
  return 100.0 * static_cast<double>(syscalls.total_ns()) / static_cast<double>(wall);
}

bool Report::has(const std::string& id) const {
  return std::any_of(diagnoses.begin(), diagnoses.end(), [&](const Diagnosis& d) { return d.id == id; });
}

}  // namespace hk::analyze
