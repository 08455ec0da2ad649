// A writer process killed with SIGKILL halfway through leaves every record it
// committed readable.
#include "ring_test_support.h"

#include <event_ring.h>
#include <hakmem/ring_format.h>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <thread>
#include <vector>

namespace {

using hk::test::RingEnv;
using hk::test::TempDir;

constexpr int kThreads = 4;
constexpr uint64_t kMaxPerThread = 200000;  // 800000 < 2^20 slots: no drops
constexpr uint64_t kKillAfter = 20000;
constexpr uint64_t kMarker = 0xDEAD;

TEST(RingKilledWriter, CommittedRecordsSurviveSigkill) {
  // progress[t] = last sequence number whose emit() returned in the writer.
  auto* progress = static_cast<uint64_t*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                                               MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(progress, MAP_FAILED);
  for (int t = 0; t < kThreads; t++) progress[t] = UINT64_MAX;

  TempDir dir;
  const pid_t pid = hk::test::spawn_writer(RingEnv{dir.prefix(), "64M", "stream"}, [&] {
    if (!hk::g_ring) return 3;
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; t++)
      ts.emplace_back([&, t] {
        for (uint64_t i = 0; i < kMaxPerThread; i++) {
          hk::emit(HK_EV_LRU_PUSH, uint8_t(t), 0, 0, 0, i, kMarker, 0);
          __atomic_store_n(&progress[t], i, __ATOMIC_RELEASE);
          // Slow down once there is enough to kill: the kill must land
          // while every thread is still writing.
          if (i >= kKillAfter) usleep(20);
        }
      });
    for (auto& th : ts) th.join();
    return 0;
  });

  auto files = hk::test::wait_for_rings(dir, 1);
  ASSERT_EQ(files.size(), 1u);
  hk::analyze::RingReader r(files[0]);
  std::vector<hk_event> evs;
  // Read live while the writer runs, then kill it mid-stream.
  for (;;) {
    r.poll(evs);
    bool all = true;
    for (int t = 0; t < kThreads; t++) {
      const uint64_t p = __atomic_load_n(&progress[t], __ATOMIC_ACQUIRE);
      all = all && p != UINT64_MAX && p >= kKillAfter;
    }
    if (all) break;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_EQ(hk::test::wait_child(pid), 128 + SIGKILL);
  EXPECT_FALSE(r.writer_alive());
  EXPECT_FALSE(r.writer_exited_cleanly());
  r.drain_dead(evs);

  auto seq = hk::test::sequences(evs, HK_EV_LRU_PUSH, kMarker);
  ASSERT_EQ(seq.by_thread.size(), size_t(kThreads));
  uint64_t total = 0;
  for (const auto& [t, s] : seq.by_thread) {
    const uint64_t done = progress[t];
    ASSERT_FALSE(s.empty());
    // Contiguous from 0: nothing committed is missing, nothing doubled.
    for (size_t i = 0; i < s.size(); i++) ASSERT_EQ(s[i], i) << "thread " << t;
    // Everything whose emit() returned is there; at most the one record in
    // flight at the kill beyond that.
    EXPECT_GE(s.size(), done + 1) << "thread " << t;
    EXPECT_LE(s.size(), done + 2) << "thread " << t;
    EXPECT_LT(done, kMaxPerThread - 1) << "the writer finished before the kill";
    total += s.size();
  }
  EXPECT_EQ(r.dropped(), 0u);
  EXPECT_LE(r.torn(), uint64_t(kThreads));  // at most one claim in flight per thread
  EXPECT_EQ(evs.size(), total + 1);         // + the ring's own mapping record
  munmap(progress, 4096);
}

}  // namespace
