// A ring far too small: writers never block, and the drop counter equals the
// number of missing records exactly.
#include "ring_test_support.h"

#include <event_ring.h>
#include <hakmem/ring_format.h>

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include <unistd.h>

namespace {

using hk::test::RingEnv;
using hk::test::TempDir;

constexpr int kThreads = 8;
constexpr uint64_t kPerThread = 20000;
constexpr uint64_t kMarker = 0xF011;

// With a gate, the writers also pause now and then, so that a reader polling
// every millisecond frees room many times while they run.
const hk::test::WriterLoad kLoad{kThreads, kPerThread, HK_EV_DRAIN, kMarker, 256};

uint64_t count_unique(const std::vector<hk_event>& evs) {
  std::set<std::pair<uint32_t, uint64_t>> seen;
  for (const hk_event& ev : evs)
    if (ev.type == HK_EV_DRAIN && ev.b == kMarker) {
      EXPECT_TRUE(seen.emplace(ev.cls, ev.a).second) << "duplicate " << ev.cls << "/" << ev.a;
    }
  return seen.size();
}

TEST(RingFull, NoReaderWritersFinishAndDropsAreExact) {
  // 64 slots and nobody reading: if a writer waited for room it would hang
  // here (ctest's timeout turns that into a failure).
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = hk::test::spawn_writer(RingEnv{dir.prefix(), "4K", "stream"},
                                           [] { return hk::test::write_from_threads(kLoad, nullptr); });
  ASSERT_EQ(hk::test::wait_child(pid), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  auto files = dir.files();
  ASSERT_EQ(files.size(), 1u);
  hk::analyze::RingReader r(files[0]);
  EXPECT_FALSE(r.writer_alive());
  std::vector<hk_event> evs;
  r.drain_dead(evs);
  ASSERT_EQ(evs.size(), 64u);  // the first 64 emits (the mapping record included)
  EXPECT_EQ(evs[0].type, HK_EV_OS_MMAP);
  const uint64_t got = count_unique(evs);
  EXPECT_EQ(got, 63u);
  EXPECT_EQ(r.dropped(), kThreads * kPerThread - got);
  EXPECT_EQ(r.torn(), 0u);
}

TEST(RingFull, SlowReaderDropsAreExact) {
  TempDir dir;
  hk::test::Gate gate;
  const pid_t pid = hk::test::spawn_writer(RingEnv{dir.prefix(), "4K", "stream"},
                                           [&] { return hk::test::write_from_threads(kLoad, &gate); });
  auto files = hk::test::wait_for_rings(dir, 1);
  ASSERT_EQ(files.size(), 1u);
  hk::analyze::RingReader r(files[0]);
  gate.open();
  std::vector<hk_event> evs;
  int status = -1;
  for (;;) {
    r.poll(evs);
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  r.drain_dead(evs);
  EXPECT_EQ(status, 0);
  const uint64_t got = count_unique(evs);
  EXPECT_GT(got, 63u);  // the reader freed room at least once
  EXPECT_EQ(got + r.dropped() + r.torn(), kThreads * kPerThread);
  EXPECT_EQ(r.torn(), 0u);
}

}  // namespace
