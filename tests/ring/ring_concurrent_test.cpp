// 8 writer threads and a live reader: every committed record is read exactly
// once, in order within each thread, and every other one is accounted for.
#include "ring_test_support.h"

#include <event_ring.h>
#include <hakmem/ring_format.h>

#include <gtest/gtest.h>

#include <chrono>

#include <vector>

namespace {

using hk::test::RingEnv;
using hk::test::TempDir;

constexpr int kThreads = 8;
constexpr uint64_t kPerThread = 40000;
constexpr uint64_t kMarker = 0xC0FFEE;

const hk::test::WriterLoad kLoad{kThreads, kPerThread, HK_EV_SNAPSHOT, kMarker};

struct Outcome {
  std::vector<hk_event> events;
  uint64_t dropped, overwritten, torn;
};

Outcome run(const std::string& mode, const std::string& size) {
  TempDir dir;
  hk::test::Gate gate;
  const pid_t pid = hk::test::spawn_writer(RingEnv{dir.prefix(), size, mode},
                                           [&] { return hk::test::write_from_threads(kLoad, &gate); });
  auto files = hk::test::wait_for_rings(dir, 1);
  EXPECT_EQ(files.size(), 1u);
  hk::analyze::RingReader r(files.at(0));
  // The writers are alive throughout: a slot left unfinished is a writer
  // preempted mid-record (8 threads on a loaded 2-core CI machine, under
  // TSan), never a dead one, so the reader must not give up on it after the
  // default 2 s (it did once, in a full ctest -j2 run).
  r.set_stall_timeout(std::chrono::seconds(60));
  gate.open();
  int status = -1;
  Outcome o{hk::test::read_until_exit(r, pid, &status), 0, 0, 0};
  EXPECT_EQ(status, 0);
  EXPECT_EQ(r.records_read(), o.events.size());
  o.dropped = r.dropped();
  o.overwritten = r.overwritten();
  o.torn = r.torn();
  return o;
}

// Checks "exactly once, in order per thread" and returns how many test
// records were read.
uint64_t check_order(const std::vector<hk_event>& evs) {
  auto seq = hk::test::sequences(evs, HK_EV_SNAPSHOT, kMarker);
  uint64_t n = 0;
  for (const auto& [t, s] : seq.by_thread) {
    EXPECT_LT(t, uint32_t(kThreads));
    for (size_t i = 1; i < s.size(); i++)
      if (s[i] <= s[i - 1]) {
        ADD_FAILURE() << "thread " << t << ": seq " << s[i] << " after " << s[i - 1];
        break;
      }
    if (!s.empty()) {
      EXPECT_LT(s.back(), kPerThread);
    }
    n += s.size();
  }
  return n;
}

TEST(RingConcurrent, StreamEveryCommittedRecordOnceInThreadOrder) {
  // 1024 slots: the ring wraps hundreds of times under the reader.
  Outcome o = run("stream", "64K");
  const uint64_t got = check_order(o.events);
  // Besides the test records the ring holds its own mapping record.
  EXPECT_EQ(o.events.size(), got + 1);
  EXPECT_EQ(o.overwritten, 0u);
  EXPECT_EQ(got + o.dropped + o.torn, kThreads * kPerThread)
      << "dropped " << o.dropped << " torn " << o.torn;
  EXPECT_EQ(o.torn, 0u);
  EXPECT_GT(got, 0u);
}

TEST(RingConcurrent, StreamBigRingLosesNothing) {
  // 2^19 slots hold all 320000 records even if the reader falls behind.
  Outcome o = run("stream", "32M");
  EXPECT_EQ(check_order(o.events), kThreads * kPerThread);
  EXPECT_EQ(hk::test::sequences(o.events, HK_EV_SNAPSHOT, kMarker).by_thread.size(),
            size_t(kThreads));
  EXPECT_EQ(o.dropped, 0u);
  EXPECT_EQ(o.torn, 0u);
}

TEST(RingConcurrent, FlightAccountsForEveryTicket) {
  Outcome o = run("flight", "64K");
  const uint64_t got = check_order(o.events);
  EXPECT_EQ(o.dropped, 0u);
  // Every ticket (test records + the mapping record) is read, overwritten or
  // torn (a writer lapped while it was mid-record gives its record up).
  EXPECT_EQ(o.events.size() + o.overwritten + o.torn, kThreads * kPerThread + 1);
  EXPECT_GT(got, 0u);
}

}  // namespace
