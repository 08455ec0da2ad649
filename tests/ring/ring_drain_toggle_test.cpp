// Drain toggle: fill_free_all under the real allocator with a ring, TLS SLL
// drain off (the seed's Phase 9 bug, on purpose) and on. Its 200,000 blocks
// per round are more than the thread cache may hold (an SLL grows to at
// most 1 MiB of blocks per class), so with the drain on they must go back
// to their slabs; a working set that fits stays parked and hot. The event streams
// must show the gap: LRU pushes and slab-empty events appear only when the
// drain returns blocks to their slabs, and the snapshots show parked blocks
// still counted as used when it is off.
#include "analysis/allocator_metrics.h"
#include "ring_test_support.h"

#include <hakmem/ring_format.h>

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <map>

namespace {

using hk::test::TempDir;

struct Stream {
  // Counts by type as the analyzer reads them (a SLAB_RELEASE of an emptied
  // slab also counts as its SLAB_EMPTY).
  hk::analyze::AllocatorMetrics metrics;
  // Last snapshot of each class: blocks counted used, parked, live.
  std::map<uint8_t, hk_event> last_snapshot;
  uint64_t snapshots = 0, lost = 0;
};

Stream record(const char* drain_interval) {
  TempDir dir;
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("LD_PRELOAD", HAKMEM_SO, 1);
    setenv("HAKMEM_RING", dir.prefix().c_str(), 1);
    setenv("HAKMEM_RING_SIZE", "64M", 1);
    setenv("HAKMEM_TLS_SLL_DRAIN_INTERVAL", drain_interval, 1);
    execl(FILL_FREE_ALL, FILL_FREE_ALL, "10", "200000", "1234567", static_cast<char*>(nullptr));
    _exit(127);
  }
  EXPECT_EQ(hk::test::wait_child(pid), 0);
  Stream s;
  const auto files = dir.files();
  EXPECT_EQ(files.size(), 1u);
  if (files.empty()) return s;
  hk::analyze::RingReader r(files[0]);
  std::vector<hk_event> evs;
  r.drain_dead(evs);
  s.lost = r.dropped() + r.torn() + r.overwritten();
  for (const hk_event& ev : evs) {
    s.metrics.add(uint32_t(pid), ev);
    if (ev.type == HK_EV_SNAPSHOT) {
      s.snapshots++;
      s.last_snapshot[ev.cls] = ev;
    }
  }
  return s;
}

uint64_t sum_last(const Stream& s, uint64_t hk_event::*field) {
  uint64_t n = 0;
  for (const auto& [cls, ev] : s.last_snapshot) n += ev.*field;
  return n;
}

TEST(RingDrainToggle, EventStreamsShowTheAccountingGap) {
  const Stream off = record("0");
  const Stream on = record("1024");
  ASSERT_EQ(off.lost, 0u);
  ASSERT_EQ(on.lost, 0u);
  EXPECT_EQ(off.metrics.count(HK_EV_CONFIG), 1u);
  EXPECT_EQ(on.metrics.count(HK_EV_CONFIG), 1u);

  // With the drain on, blocks reach their slabs: slabs empty and SuperSlabs
  // go to the LRU. With it off, fewer (or none) ever do.
  const auto n = [](const Stream& s, hk_event_type t) { return s.metrics.count(t); };
  EXPECT_GT(n(on, HK_EV_DRAIN), 0u);
  EXPECT_GT(n(on, HK_EV_SLAB_EMPTY), n(off, HK_EV_SLAB_EMPTY));
  EXPECT_GT(n(on, HK_EV_LRU_PUSH), n(off, HK_EV_LRU_PUSH));
  EXPECT_GT(n(on, HK_EV_LRU_PUSH), 0u);

  // Snapshots exist in both runs, enough for a curve.
  EXPECT_GE(off.snapshots, 10u);
  EXPECT_GE(on.snapshots, 10u);

  // With the drain off, parked blocks stay counted as used: at the end the
  // program holds nothing live, yet the slabs count what the caches park.
  const uint64_t off_used = sum_last(off, &hk_event::a);
  const uint64_t off_parked = sum_last(off, &hk_event::b);
  const uint64_t on_used = sum_last(on, &hk_event::a);
  EXPECT_GT(off_parked, 0u);
  EXPECT_GE(off_used, off_parked);
  EXPECT_GT(off_used, 2 * on_used) << "off used " << off_used << ", on used " << on_used;
}

}  // namespace
