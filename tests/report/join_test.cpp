// Join and timeline on constructed streams.
#include "analysis/join.h"
#include "synthetic.h"
#include "analysis/timeline.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace hk::analyze;

namespace {

struct Collect : JoinSink {
  std::vector<std::pair<uint64_t, uint64_t>> matched;  // (sys seq, event ts)
  std::vector<hk_sys_record> kernel_only;
  std::vector<hk_event> allocator_only;
  void on_matched(const hk_sys_record& s, const hk_event& e) override { matched.emplace_back(s.seq, e.ts_ns); }
  void on_kernel_only(const hk_sys_record& s) override { kernel_only.push_back(s); }
  void on_allocator_only(uint32_t, const hk_event& e) override { allocator_only.push_back(e); }
};

// The join's tests place each record at an exact time: a syscall takes 100 ns.
hk_sys_record sys(uint64_t seq, uint32_t tid, uint32_t nr, uint64_t a0, uint64_t a1, int64_t ret, uint64_t t) {
  return hk::synth::syscall_record(seq, 1, tid, nr, a0, a1, ret, t, t + 100);
}

hk_event ev(uint16_t type, uint32_t tid, uint64_t addr, uint64_t len, uint64_t a, uint64_t t) {
  return hk::synth::allocator_event(t, type, tid, 0, HK_OS_SUPERSLAB, addr, len, a);
}

}  // namespace

TEST(Join, MatchesSameTidAddressLengthAndSyscall) {
  Collect c;
  Join j(c);
  j.on_syscall(sys(0, 7, HK_NR_MMAP, 0, 4096, 0x1000, 1000));
  j.on_event(1, ev(HK_EV_OS_MMAP, 7, 0x1000, 4096, 0x1000, 1200));
  j.on_syscall(sys(1, 7, HK_NR_MUNMAP, 0x1000, 4096, 0, 2000));
  j.on_event(1, ev(HK_EV_OS_MUNMAP, 7, 0x1000, 4096, 0, 2200));
  j.finish();
  EXPECT_EQ(j.counts().matched, 2u);
  EXPECT_EQ(j.counts().kernel_only, 0u);
  EXPECT_EQ(j.counts().allocator_only, 0u);
}

TEST(Join, DifferentTidOrLengthDoesNotMatch) {
  Collect c;
  Join j(c);
  j.on_syscall(sys(0, 7, HK_NR_MMAP, 0, 4096, 0x1000, 1000));
  j.on_event(1, ev(HK_EV_OS_MMAP, 8, 0x1000, 4096, 0x1000, 1200));  // other thread
  j.on_syscall(sys(1, 7, HK_NR_MUNMAP, 0x2000, 8192, 0, 2000));
  j.on_event(1, ev(HK_EV_OS_MUNMAP, 7, 0x2000, 4096, 0, 2200));  // other length
  j.finish();
  EXPECT_EQ(j.counts().matched, 0u);
  EXPECT_EQ(j.counts().kernel_only, 2u);
  EXPECT_EQ(j.counts().allocator_only, 2u);
}

TEST(Join, OlderPendingSyscallOnSameThreadResolvesAsKernelOnly) {
  Collect c;
  Join j(c);
  j.on_syscall(sys(0, 7, HK_NR_MMAP, 0, 65536, 0x9000, 1000));  // libc's
  j.on_syscall(sys(1, 7, HK_NR_MMAP, 0, 4096, 0x1000, 1100));   // allocator's
  j.on_event(1, ev(HK_EV_OS_MMAP, 7, 0x1000, 4096, 0x1000, 1300));
  EXPECT_EQ(c.kernel_only.size(), 1u);  // resolved at the match, not at the end
  EXPECT_EQ(c.kernel_only[0].seq, 0u);
  j.finish();
  EXPECT_EQ(j.counts().matched, 1u);
}

TEST(Join, EventBeforeItsSyscallStillMatches) {
  Collect c;
  Join j(c);
  j.on_event(1, ev(HK_EV_OS_MADVISE, 7, 0x1000, 4096, 0, 1200));
  j.on_syscall(sys(0, 7, HK_NR_MADVISE, 0x1000, 4096, 0, 1000));
  j.finish();
  EXPECT_EQ(j.counts().matched, 1u);
}

TEST(Join, FailedMmapMatchesOnErrno) {
  Collect c;
  Join j(c);
  j.on_syscall(sys(0, 7, HK_NR_MMAP, 0, 1ull << 40, -12, 1000));
  j.on_event(1, ev(HK_EV_OS_MMAP, 7, 0, 1ull << 40, static_cast<uint64_t>(-12), 1200));
  j.finish();
  EXPECT_EQ(j.counts().matched, 1u);
}

TEST(Join, BrkAndMremapAreNeverTheAllocators) {
  Collect c;
  Join j(c);
  j.on_syscall(sys(0, 7, HK_NR_BRK, 0, 0, 0x5000, 1000));
  j.on_syscall(sys(1, 7, HK_NR_MREMAP, 0x1000, 4096, 0x3000, 1100));
  EXPECT_EQ(c.kernel_only.size(), 2u);
}

TEST(Join, WindowAndPerThreadBoundResolveEarly) {
  Collect c;
  Join j(c, JoinLimits{1000, 8});
  for (uint64_t i = 0; i < 20; ++i) j.on_syscall(sys(i, 7, HK_NR_MMAP, 0, 4096, 0x1000 + i * 4096, 100 + i));
  EXPECT_GE(c.kernel_only.size(), 12u);  // the bound of 8 forced the rest out
  EXPECT_GT(j.counts().overflowed, 0u);
  j.advance(1'000'000);
  EXPECT_LT(c.kernel_only.size(), 20u);  // no allocator event yet: keep waiting
  j.on_event(1, ev(HK_EV_OS_MMAP, 9, 0x1, 4096, 0x1, 1'000'000));
  j.advance(2'000'000);
  EXPECT_EQ(c.kernel_only.size(), 20u);  // the allocator moved on: the window expired them
  j.finish();
  EXPECT_EQ(j.counts().kernel_only, 20u);
}

namespace {
struct Order : TimelineSink {
  std::vector<uint64_t> ts;
  void on_event(uint32_t, const hk_event& e) override { ts.push_back(e.ts_ns); }
  void on_syscall(const hk_sys_record& r) override { ts.push_back(r.exit_ns); }
};
}  // namespace

TEST(Timeline, MergesInterleavedChunksIntoTimeOrder) {
  Order o;
  Timeline t(o, TimelineLimits{1'000'000, 1 << 16});
  std::vector<hk_event> a, b;
  std::vector<hk_sys_record> k;
  for (uint64_t i = 0; i < 100; ++i) {
    a.push_back(ev(HK_EV_SNAPSHOT, 1, 0, 0, 0, 1000 + 30 * i));
    b.push_back(ev(HK_EV_SNAPSHOT, 2, 0, 0, 0, 1010 + 30 * i));
    k.push_back(sys(i, 3, HK_NR_MMAP, 0, 0, 0, 920 + 30 * i));  // exit at 1020 + 30 i
  }
  t.push_events(1, a);
  t.push_syscalls(k);
  t.push_events(2, b);
  t.finish();
  ASSERT_EQ(o.ts.size(), 300u);
  EXPECT_TRUE(std::is_sorted(o.ts.begin(), o.ts.end()));
  EXPECT_EQ(t.out_of_order(), 0u);
}

TEST(Timeline, OneSourceOutOfOrderAcrossChunksIsSorted) {
  // Kernel records reach the trace in the order the CPUs emitted them, not
  // quite by exit time, and a chunk boundary can fall inside the disorder.
  Order o;
  Timeline t(o, TimelineLimits{1'000'000, 1 << 16});
  std::vector<hk_sys_record> first{sys(0, 3, HK_NR_MMAP, 0, 0, 0, 400), sys(1, 3, HK_NR_MMAP, 0, 0, 0, 100)};
  std::vector<hk_sys_record> second{sys(2, 3, HK_NR_MMAP, 0, 0, 0, 300), sys(3, 3, HK_NR_MMAP, 0, 0, 0, 500)};
  std::vector<hk_event> a{ev(HK_EV_SNAPSHOT, 1, 0, 0, 0, 350)};
  t.push_syscalls(first);
  t.push_events(1, a);
  t.push_syscalls(second);
  t.finish();
  EXPECT_EQ(o.ts, (std::vector<uint64_t>{200, 350, 400, 500, 600}));
  EXPECT_EQ(t.out_of_order(), 0u);
}

TEST(Timeline, MemoryStaysBoundedAndLateRecordsAreCounted) {
  Order o;
  Timeline t(o, TimelineLimits{1'000'000'000, 64});
  std::vector<hk_event> a;
  for (uint64_t i = 0; i < 10'000; ++i) a.push_back(ev(HK_EV_SNAPSHOT, 1, 0, 0, 0, 1000 + i));
  t.push_events(1, a);
  EXPECT_LE(t.peak_buffered(), 64u + 64u / 4);  // the cap plus one slice
  std::vector<hk_event> late = {ev(HK_EV_SNAPSHOT, 2, 0, 0, 0, 5)};
  t.push_events(2, late);
  t.finish();
  EXPECT_EQ(o.ts.size(), 10'001u);
  EXPECT_GE(t.out_of_order(), 1u);
}

TEST(Join, ManyThreadsStayBounded) {
  Collect c;
  Join j(c, JoinLimits{1'000'000'000, 8, 1000});
  for (uint32_t tid = 0; tid < 5000; ++tid) j.on_syscall(sys(tid, tid, HK_NR_MMAP, 0, 4096, 0x1000, 100));
  EXPECT_GE(c.kernel_only.size(), 4000u);  // resolved early, not held per thread
  EXPECT_GT(j.counts().overflowed, 0u);
  j.finish();
  EXPECT_EQ(j.counts().kernel_only, 5000u);
}
