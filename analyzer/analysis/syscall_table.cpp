#include "analysis/syscall_table.h"

#include <fmt/format.h>

namespace hk::analyze {

void SyscallTable::add(const hk_sys_record& r) {
  SyscallRow& row = rows_[r.nr];
  ++row.count;
  if (r.ret < 0 && r.ret >= -4095) ++row.errors;
  row.latency.add(r.exit_ns >= r.enter_ns ? r.exit_ns - r.enter_ns : 0);
}

void SyscallTable::mark_allocator(const hk_sys_record& r) { ++rows_[r.nr].allocator; }

uint64_t SyscallTable::total_calls() const {
  uint64_t n = 0;
  for (const auto& [nr, row] : rows_) n += row.count;
  return n;
}

uint64_t SyscallTable::total_ns() const {
  uint64_t n = 0;
  for (const auto& [nr, row] : rows_) n += row.latency.total();
  return n;
}

std::string syscall_name(uint32_t nr) {
  switch (nr) {
    case HK_NR_MMAP: return "mmap";
    case HK_NR_MUNMAP: return "munmap";
    case HK_NR_BRK: return "brk";
    case HK_NR_MREMAP: return "mremap";
    case HK_NR_MADVISE: return "madvise";
    default: return fmt::format("syscall_{}", nr);
  }
}

}  // namespace hk::analyze
