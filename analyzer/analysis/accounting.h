// Accounting: the per-class curve of blocks counted used by the slabs
// against blocks actually live, from HK_EV_SNAPSHOT. The difference is the
// seed's "accounting gap": blocks parked in thread caches (TLS SLL) that
// their slabs still count as used, which keeps slabs from ever reaching
// empty.
//
// Contract: the analysis feeds every snapshot event once, in time order, on
// one thread. Per class it keeps exact aggregates and a curve of at most
// kMaxPoints points (thinned evenly as the trace grows), so memory does not
// depend on the number of snapshots.
#pragma once

#include <hakmem/events.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace hk::analyze {

struct SnapshotPoint {
  uint64_t ts_ns = 0;
  uint64_t used = 0;    // counted used by the slabs
  uint64_t parked = 0;  // sitting in thread caches
  uint64_t live = 0;    // really in use by the program
  uint64_t capacity = 0;  // what the thread caches may hold (0: not logged)
};

struct ClassAccounting {
  static constexpr size_t kMaxPoints = 64;
  // A snapshot "shows the gap" when at least this many blocks are parked
  // and they are at least half of what the slabs count as used: then the
  // slabs' used counts are mostly fiction. Smaller parked counts are normal
  // for a cache between two drains.
  static constexpr uint64_t kGapMinBlocks = 64;

  uint64_t block_size = 0;
  uint64_t snapshots = 0;
  uint64_t gap_snapshots = 0;  // snapshots that show the gap
  uint64_t low_snapshots = 0;  // snapshots with parked under kGapMinBlocks
  SnapshotPoint last;
  SnapshotPoint worst;  // the snapshot with the most parked blocks
  uint64_t max_used = 0;
  std::vector<SnapshotPoint> curve;

  void add(const SnapshotPoint& p);
  bool shows_gap(const SnapshotPoint& p) const {
    return p.parked >= kGapMinBlocks && 2 * p.parked >= p.used;
  }

 private:
  uint64_t stride_ = 1, seen_ = 0;
};

class Accounting {
 public:
  void add(const hk_event& snapshot);  // HK_EV_SNAPSHOT only
  const std::map<uint8_t, ClassAccounting>& classes() const { return classes_; }

 private:
  std::map<uint8_t, ClassAccounting> classes_;
};

}  // namespace hk::analyze
