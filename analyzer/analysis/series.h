// Series: what the report's charts show over time, collected from the
// records as the analysis streams them (TimeSeries, bounded points).
//
// Contract: the analysis (analysis.cpp) calls start() once it knows the
// recording's start, then on_event / on_syscall for every record in the
// timeline's order, process_gone() when the kernel reports an exit or exec,
// and finish() once; the result goes into Report::series. One thread.
// Per-process state (SuperSlabs, LRU length, mapped and heap bytes) is kept
// for at most kMaxProcesses processes; later ones are left out of the
// levels. The series' names are the constants below, so that renderers
// find them; a new quantity (say RSS) is one name here and one add() call
// where its records arrive.
#pragma once

#include "analysis/time_series.h"

#include <hakmem/events.h>
#include <hakmem/syscall_record.h>

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace hk::analyze {

namespace series {
// Allocator's view (levels summed over processes).
inline constexpr const char* kSuperSlabs = "superslabs";        // mapped now
inline constexpr const char* kMappedBytes = "mapped_bytes";     // by the allocator's OS calls
inline constexpr const char* kLruLength = "lru_length";         // SuperSlabs cached
inline constexpr const char* kLruPush = "lru_push";             // counts per bucket
inline constexpr const char* kLruHit = "lru_hit";
inline constexpr const char* kLruMiss = "lru_miss";
inline constexpr const char* kLruEvict = "lru_evict";
// Kernel's view: net bytes mmap'd minus munmap'd (any caller), and the
// program break above its first value (glibc's heap).
inline constexpr const char* kKernelMappedBytes = "kernel_mapped_bytes";
inline constexpr const char* kHeapBytes = "brk_heap_bytes";
// Kernel's view from the probe's fault and RSS records: resident bytes
// (file + anon + shmem, summed over processes) and user page faults.
inline constexpr const char* kRssBytes = "rss_bytes";
inline constexpr const char* kPageFaults = "page_faults";  // counts per bucket
// Per syscall name: "sys_calls.mmap" (count), "sys_ns.mmap" (kernel time,
// count), "sys_max_ns.mmap" (slowest call, peak).
inline constexpr const char* kSysCalls = "sys_calls.";
inline constexpr const char* kSysNs = "sys_ns.";
inline constexpr const char* kSysMaxNs = "sys_max_ns.";
// Per size class from snapshots: "class_used.16", "class_parked.16",
// "class_live.16" (levels).
inline constexpr const char* kClassUsed = "class_used.";
inline constexpr const char* kClassParked = "class_parked.";
inline constexpr const char* kClassLive = "class_live.";
}  // namespace series

class SeriesCollector {
 public:
  static constexpr size_t kMaxProcesses = 4096;

  SeriesCollector();
  void start(uint64_t t0_ns) { ts_.start_at(t0_ns); }
  void on_event(uint32_t pid, const hk_event& ev);
  void on_syscall(const hk_sys_record& rec);
  void process_gone(uint32_t pid, uint64_t ts_ns);
  TimeSeries finish(uint64_t end_ns);

 private:
  // Per process, so that an exit takes its share out of the sums.
  struct Proc {
    uint64_t superslabs = 0, lru = 0, mapped = 0, kernel_mapped = 0, heap = 0, rss = 0;
    uint64_t brk_base = 0;  // the first break seen; 0 = none yet
  };
  struct Sums {
    uint64_t superslabs = 0, lru = 0, mapped = 0, kernel_mapped = 0, heap = 0, rss = 0;
  };
  struct Ids {
    TimeSeries::Id superslabs, mapped, lru, push, hit, miss, evict, kernel_mapped, heap, rss, faults;
  };
  struct PerNumber {
    TimeSeries::Id calls, ns, max_ns;
  };
  struct PerClass {
    TimeSeries::Id used, parked, live;
  };
  Proc* proc(uint32_t pid);
  // Sets process p's share of a summed level to v and records the new sum.
  void set_level(uint64_t Proc::*field, uint64_t Sums::*sum, TimeSeries::Id id, Proc& p, uint64_t v,
                 uint64_t ts);
  const PerNumber& per_number(uint32_t nr);
  const PerClass& per_class(uint8_t cls);

  TimeSeries ts_;
  Ids ids_;
  std::unordered_map<uint32_t, PerNumber> numbers_;
  std::array<PerClass, 256> classes_;
  std::array<bool, 256> have_class_{};
  std::unordered_map<uint32_t, Proc> procs_;
  // The process of the previous record: records come in runs from one ring.
  uint32_t last_pid_ = 0;
  Proc* last_proc_ = nullptr;
  Sums sums_;
};

}  // namespace hk::analyze
