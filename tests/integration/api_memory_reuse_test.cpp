// Freed memory must come back: blocks freed in one size class serve other
// classes (the seed's bug made empty slabs unreachable, so every class kept
// its own high-water mark), a churn of large blocks stays within its cache
// bound and reuses mappings instead of making a syscall per iteration, and
// realloc(p, 0) really frees. Measured on this process's RSS and VmSize,
// which only hakmem's behaviour moves here, and on hakmem's own syscall
// counters (hakmem_get_stats).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "allocator_under_test.h"

using hk_test::Footprint;
using hk_test::footprint;
using hk_test::opaque;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

}  // namespace

TEST(MemoryReuse, SmallBlocksFreedInOneClassServeTheNext) {
  // 16 MiB of each class in turn, each freed completely before the next
  // class starts: 480 MiB in all. With freed slabs going back to the pool the
  // footprint stays near one class's worth (glibc: ~40 MiB).
  const std::size_t sizes[] = {16,  32,   48,   64,   80,   96,    128,  256,
                               512, 1024, 2048, 4096, 8192, 16384, 32768};
  std::vector<void*> blocks;
  blocks.reserve(16 * kMiB / sizes[0]);
  const Footprint before = footprint();
  std::size_t peak = 0;
  for (int round = 0; round < 2; ++round) {
    for (std::size_t size : sizes) {
      const std::size_t count = (16 * kMiB) / size;
      blocks.clear();
      for (std::size_t i = 0; i < count; ++i) {
        auto* p = static_cast<unsigned char*>(malloc(size));
        ASSERT_NE(p, nullptr);
        p[0] = 1;
        p[size - 1] = 2;
        blocks.push_back(p);
      }
      ASSERT_EQ(hakmem_owns(blocks.front()), 1);
      for (void* p : blocks) free(p);
      const std::size_t grown = footprint().rss - before.rss;
      if (grown > peak) peak = grown;
    }
  }
  EXPECT_LT(peak, 96 * kMiB) << "RSS grew by " << peak / kMiB
                             << " MiB: memory freed in one size class is not reused by the next";
}

TEST(MemoryReuse, LargeBlockChurnStaysBounded) {
  // Eight live slots of 32 KiB..8 MiB, replaced 5000 times: at most 64 MiB
  // live; whatever the large cache keeps must stay bounded as well.
  const Footprint before = footprint();
  std::size_t peak = 0;
  std::uint64_t s = 88172645463325252ull;
  void* live[8] = {};
  for (int i = 0; i < 5000; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const std::size_t n = 32769 + s % (8 * kMiB);
    const unsigned k = static_cast<unsigned>(s >> 40) & 7u;
    free(live[k]);
    auto* p = static_cast<unsigned char*>(malloc(n));
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(hakmem_owns(p), 1);
    memset(p, 1, 4096);
    p[n - 1] = 1;
    live[k] = p;
    const std::size_t grown = footprint().vm - before.vm;
    if (grown > peak) peak = grown;
  }
  for (void* p : live) free(p);
  EXPECT_LT(peak, 256 * kMiB) << "VmSize grew by " << peak / kMiB
                              << " MiB for at most 64 MiB of live large blocks";
}

TEST(MemoryReuse, BigMallocFreeLoopReusesMappings) {
  hakmem_stats before {};
  hakmem_get_stats(&before);
  for (int i = 0; i < 20000; ++i) {
    auto* p = static_cast<unsigned char*>(malloc(kMiB + static_cast<std::size_t>(i % 4) * 4096));
    ASSERT_NE(p, nullptr);
    p[0] = 1;
    free(opaque(p));
  }
  hakmem_stats after {};
  hakmem_get_stats(&after);
  const std::uint64_t calls = (after.os_mmaps - before.os_mmaps) + (after.os_munmaps - before.os_munmaps);
  EXPECT_LT(calls, 64u) << calls << " mmap+munmap calls for 20000 malloc/free of ~1 MiB";
  EXPECT_GT(after.large_reuses, before.large_reuses) << "the large cache never served a request";
}

TEST(MemoryReuse, BurstOfLargeFreesWithinTheCacheCapIsReused) {
  // 512 blocks of 33..70 KiB (~26 MiB, inside the default 64 MiB large
  // cache) allocated and then freed as a burst, 30 times: the pattern of a
  // producer running ahead of its consumer. After the first round every
  // request can be served from what the previous burst freed.
  constexpr int kBlocks = 512, kRounds = 30;
  hakmem_stats before {};
  hakmem_get_stats(&before);
  std::vector<void*> blocks(kBlocks);
  std::uint64_t s = 0x2545F4914F6CDD1Dull;
  for (int round = 0; round < kRounds; ++round) {
    for (void*& b : blocks) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      b = malloc(33 * 1024 + (s >> 33) % (37 * 1024));
      ASSERT_NE(b, nullptr);
      static_cast<unsigned char*>(b)[0] = 1;
    }
    ASSERT_EQ(hakmem_owns(blocks[0]), 1);
    for (void* b : blocks) free(b);
  }
  hakmem_stats after {};
  hakmem_get_stats(&after);
  const std::uint64_t calls = (after.os_mmaps - before.os_mmaps) + (after.os_munmaps - before.os_munmaps);
  EXPECT_LT(calls, 4u * kBlocks) << calls << " mmap+munmap calls for " << kRounds << " bursts of "
                                 << kBlocks << " large blocks that fit the large cache";
}

TEST(MemoryReuse, ReallocToZeroReallyFrees) {
  // If realloc(p, 0) leaked instead of freeing, 2000 MiB would stay mapped.
  const Footprint before = footprint();
  for (int i = 0; i < 2000; ++i) {
    void* p = opaque(malloc(kMiB + static_cast<std::size_t>(i % 7) * 4096));
    ASSERT_NE(p, nullptr);
    memset(p, 1, 64);
    ASSERT_EQ(realloc(p, 0), nullptr);
  }
  const std::size_t grown = footprint().vm - before.vm;
  EXPECT_LT(grown, 256 * kMiB) << "realloc(p, 0) seems to leak: VmSize grew by " << grown / kMiB
                               << " MiB over 2000 x 1 MiB";
}
