// Retention: whether the program freed most of what it had while the
// allocator kept the memory mapped, and what held it, from the allocator's
// snapshot sets (HK_EV_SNAPSHOT, one event per class in use) and its mapped
// bytes.
//
// Contract: the analysis feeds every allocator event once, in time order,
// after AllocatorMetrics has taken it, on one thread. A snapshot set is the
// run of snapshots of one process with rising class numbers; a class left
// out of a set has nothing in use. Memory is one small state per process.
#pragma once

#include "analysis/allocator_metrics.h"

#include <hakmem/events.h>

#include <cstdint>
#include <map>

namespace hk::analyze {

// The memory of one process at one snapshot set, in bytes.
struct Holding {
  uint64_t ts_ns = 0;
  uint64_t live = 0;         // blocks in use by the program
  uint64_t parked = 0;       // freed blocks in thread caches, counted used
  uint64_t used = 0;         // counted used by the slabs (live + parked)
  uint64_t mapped = 0;       // mapped by the allocator
  uint64_t lru_superslabs = 0;  // empty SuperSlabs kept in the LRU cache
};

struct RetainedPhase {
  uint32_t pid = 0;
  uint64_t peak_live = 0, peak_mapped = 0;
  Holding at;               // the first set of the phase
  uint64_t until_ns = 0;    // when it ended (the process's last event)
  uint64_t duration_ns() const { return until_ns > at.ts_ns ? until_ns - at.ts_ns : 0; }
};

class Retention {
 public:
  // Live memory at most this share of its peak, mapped at least this share
  // of its peak, for the phase to count as retaining.
  static constexpr double kMaxLiveShare = 0.25;
  static constexpr double kMinMappedShare = 0.5;
  // A set is logged in one loop: its snapshots lie microseconds apart.
  static constexpr uint64_t kSetSpanNs = 1'000'000;

  void add(uint32_t pid, const hk_event& ev, const AllocatorMetrics& a);
  void finish(const AllocatorMetrics& a);
  // The longest phase that lasted to its process's end or to a new peak
  // (duration 0 when there was none).
  const RetainedPhase& longest() const { return longest_; }

 private:
  struct Process {
    uint8_t last_class = 0;
    bool in_set = false;
    Holding set;  // the set being read
    uint64_t peak_live = 0, peak_mapped = 0, last_ts = 0;
    bool retaining = false;
    Holding since;
  };
  void close_set(uint32_t pid, Process& p, const AllocatorMetrics& a);
  void end_phase(uint32_t pid, Process& p, uint64_t until);

  std::map<uint32_t, Process> procs_;
  RetainedPhase longest_;
};

}  // namespace hk::analyze
