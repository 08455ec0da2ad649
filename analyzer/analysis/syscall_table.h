// Syscall table: the kernel's view of the traced memory syscalls, measured
// in the kernel (enter/exit times from the probe), as `strace -c` shows it
// but without strace's cost.
//
// Contract: the analysis feeds every HK_SYS_CALL record once (add) and tells
// the table which ones the join matched to an allocator event
// (mark_allocator). One thread; memory is one row per syscall number.
#pragma once

#include "analysis/duration_stats.h"

#include <hakmem/syscall_record.h>

#include <cstdint>
#include <map>
#include <string>

namespace hk::analyze {

struct SyscallRow {
  uint64_t count = 0;
  uint64_t errors = 0;
  uint64_t allocator = 0;  // matched to an allocator event
  DurationStats latency;   // exit_ns - enter_ns
};

class SyscallTable {
 public:
  void add(const hk_sys_record& r);
  void mark_allocator(const hk_sys_record& r);
  // Rows keyed by syscall number, in number order.
  const std::map<uint32_t, SyscallRow>& rows() const { return rows_; }
  uint64_t total_calls() const;
  uint64_t total_ns() const;

 private:
  std::map<uint32_t, SyscallRow> rows_;
};

// "mmap", "munmap", ... or "syscall_<nr>" for a number the probe should not
// have sent.
std::string syscall_name(uint32_t nr);

}  // namespace hk::analyze
