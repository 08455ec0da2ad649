// What a block's size says, and what stays resident behind it.
//
// A freed large block may serve a smaller request only cut down to that
// request's size class: handed whole, a freed 64 MiB buffer answered
// malloc(40000) with malloc_usable_size = 64 MiB and kept its touched pages
// resident, and redis, which accounts its clients with malloc_usable_size,
// evicted them as huge (its unit/client-eviction failed). A realloc that
// shrinks in place cuts the block down the same way. The rest of the big
// block is the cache's, not the small block's: memory the caches keep for
// reuse and nobody reuses is purged after HAKMEM_PURGE_DELAY_MS.
//
// The bound asserted is what a program can expect from any size-class
// allocator: a small request rounds up by at most a quarter, a large one by
// at most an eighth and a page (glibc gives request + 8, mimalloc an eighth).
#include <malloc.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "allocator_under_test.h"

using hk_test::footprint;
using hk_test::opaque;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kMaxSmall = 32768;

std::size_t class_bound(std::size_t n) { return n <= kMaxSmall ? n + n / 4 + 16 : n + n / 8 + 4096; }

hakmem_stats stats() {
  hakmem_stats s{};
  hakmem_get_stats(&s);
  return s;
}

// Runs purge ticks (the drain is one) until pred() holds or 4 purge delays
// pass; true if it held.
template <class Pred>
bool tick_until(Pred pred) {
  const auto delay = std::chrono::milliseconds(stats().purge_delay_ms);
  const auto deadline = std::chrono::steady_clock::now() + 4 * delay + std::chrono::milliseconds(200);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(delay / 5);
    hakmem_drain_now();
  }
  return true;
}

}  // namespace

TEST(LargeFit, BigThenSmallGetsTheSmallClassAndNoneOfTheBigPages) {
  const bool purging = stats().purge_delay_ms != 0;
  const std::size_t bigs[] = {8 * kMiB, 24 * kMiB, 64000000};
  const std::size_t smalls[] = {40000, 100000, 220202, kMiB, 3 * kMiB};
  for (std::size_t big : bigs) {
    for (std::size_t small : smalls) {
      malloc_trim(0);  // nothing cached from before: the big block is the only fit
      const std::size_t rss0 = footprint().rss;
      auto* p = static_cast<unsigned char*>(malloc(big));
      ASSERT_NE(p, nullptr);
      memset(p, 1, big);
      free(opaque(p));
      auto* q = static_cast<unsigned char*>(malloc(small));
      ASSERT_NE(q, nullptr);
      ASSERT_EQ(hakmem_owns(q), 1);
      memset(q, 2, small);
      const std::size_t usable = malloc_usable_size(q);
      EXPECT_GE(usable, small);
      EXPECT_LE(usable, class_bound(small)) << "malloc(" << small << ") after free of " << big;
      // The rest of the big block is cached; unused, it is purged.
      if (purging && small == smalls[0]) {
        EXPECT_TRUE(tick_until([&] { return footprint().rss <= rss0 + class_bound(small) + kMiB; }))
            << "after free(" << big << " B) and malloc(" << small << "), RSS stayed "
            << (footprint().rss - rss0) / 1024 << " KiB above";
      }
      free(q);
    }
  }
}

TEST(LargeFit, TheRestOfASplitBlockServesLaterRequestsWithoutNewMappings) {
  malloc_trim(0);
  auto* p = static_cast<unsigned char*>(malloc(6 * kMiB));
  ASSERT_NE(p, nullptr);
  memset(p, 1, 6 * kMiB);
  free(opaque(p));
  const hakmem_stats before = stats();
  std::vector<void*> blocks;
  for (int i = 0; i < 20; ++i) {  // 20 x 220202 B: 4.2 MiB of the 6 MiB
    void* q = malloc(220202);
    ASSERT_NE(q, nullptr);
    EXPECT_LE(malloc_usable_size(q), class_bound(220202));
    memset(q, 3, 220202);
    blocks.push_back(q);
  }
  const hakmem_stats after = stats();
  EXPECT_EQ(after.large_maps, before.large_maps) << "the cached 6 MiB could have served them all";
  EXPECT_EQ(after.large_reuses - before.large_reuses, 20u);
  for (void* q : blocks) free(q);
}

TEST(LargeFit, ReallocThatShrinksCutsTheBlockToTheNewClass) {
  malloc_trim(0);
  auto* p = static_cast<unsigned char*>(malloc(16 * kMiB));
  ASSERT_NE(p, nullptr);
  hk_test::fill_pattern(p, 16 * kMiB, 7);
  const std::size_t rss_full = footprint().rss;
  auto* q = static_cast<unsigned char*>(realloc(p, 100000));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q, p) << "a shrink needs no copy";
  EXPECT_LE(malloc_usable_size(q), class_bound(100000));
  EXPECT_EQ(hk_test::check_pattern(q, 100000, 7), 100000u);
  if (stats().purge_delay_ms != 0) {
    EXPECT_TRUE(tick_until([&] { return footprint().rss + 15 * kMiB < rss_full; }))
        << "the cut-off 15.9 MiB stayed resident";
  }
  free(q);

  auto* s = static_cast<unsigned char*>(malloc(1000));
  ASSERT_NE(s, nullptr);
  hk_test::fill_pattern(s, 1000, 9);
  auto* t = static_cast<unsigned char*>(realloc(s, 600));
  ASSERT_NE(t, nullptr);
  EXPECT_LE(malloc_usable_size(t), class_bound(600));
  EXPECT_EQ(hk_test::check_pattern(t, 600, 9), 600u);
  auto* u = static_cast<unsigned char*>(realloc(t, 590));  // same class: stays
  EXPECT_EQ(u, t);
  free(u);
}

TEST(LargeFit, CachedLargeMappingsNobodyReusesArePurgedAfterTheDelay) {
  if (stats().purge_delay_ms == 0) GTEST_SKIP() << "HAKMEM_PURGE_DELAY_MS=0: purging is off";
  malloc_trim(0);
  auto* p = static_cast<unsigned char*>(malloc(32 * kMiB));
  ASSERT_NE(p, nullptr);
  memset(p, 1, 32 * kMiB);
  free(opaque(p));
  const std::size_t rss_cached = footprint().rss;
  const hakmem_stats before = stats();
  EXPECT_TRUE(tick_until([&] { return footprint().rss + 30 * kMiB < rss_cached; }))
      << "32 MiB stayed resident in the large cache";
  EXPECT_GE(stats().purged_bytes - before.purged_bytes, 32 * kMiB);
  // The purged mapping is still cached: reused, it reads as zero and makes no syscall.
  const hakmem_stats before_reuse = stats();
  auto* z = static_cast<unsigned char*>(calloc(1, 32 * kMiB));
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(stats().large_maps, before_reuse.large_maps);
  EXPECT_EQ(z[0], 0);
  EXPECT_EQ(z[32 * kMiB - 1], 0);
  free(z);
}

// malloc-large's shape: big buffers replaced while others stay live. The
// cache holds up to the peak of live large bytes, so 96 MiB freed (past
// the 64 MiB default cap) comes back without a mapping; with a fixed cap it
// was unmapped and its pages faulted again (HAKMEM_LARGE_CACHE_ADAPTIVE=0
// makes this test fail).
TEST(LargeFit, BuffersFreedPastTheCapAreKeptWhileTheLiveSetWasThatBig) {
  if (stats().large_cache_cap == 0 || stats().large_cache_cap >= 96 * kMiB)
    GTEST_SKIP() << "HAKMEM_LARGE_CACHE_CAP is off or above what this test frees";
  malloc_trim(0);
  constexpr int kBuffers = 8, kReplaced = 6;
  std::vector<unsigned char*> buf(kBuffers);
  for (auto& b : buf) {
    b = static_cast<unsigned char*>(malloc(16 * kMiB));
    ASSERT_NE(b, nullptr);
    memset(b, 1, 16 * kMiB);
  }
  for (int i = 0; i < kReplaced; ++i) free(opaque(buf[i]));
  const hakmem_stats before = stats();
  for (int i = 0; i < kReplaced; ++i) {
    buf[i] = static_cast<unsigned char*>(malloc(16 * kMiB));
    ASSERT_NE(buf[i], nullptr);
    memset(buf[i], 2, 16 * kMiB);
  }
  EXPECT_EQ(stats().large_maps, before.large_maps) << "the freed 96 MiB could have served them all";
  EXPECT_EQ(stats().large_unmaps, before.large_unmaps);
  for (auto* b : buf) free(b);
}

TEST(LargeFit, EmptySuperSlabsAndFreeSlabsNobodyReusesArePurgedAfterTheDelay) {
  if (stats().purge_delay_ms == 0) GTEST_SKIP() << "HAKMEM_PURGE_DELAY_MS=0: purging is off";
  malloc_trim(0);
  // 48 MiB of 1 KiB blocks: 24 SuperSlabs, more than the LRU keeps (16).
  // One block in 256 (every 8th slab) stays live, so some SuperSlabs stay
  // partly used with free slabs, and the rest empty into the LRU.
  constexpr std::size_t kBlock = 1024, kCount = 48 * kMiB / kBlock;
  std::vector<void*> blocks(kCount);
  for (void*& b : blocks) {
    b = malloc(kBlock);
    ASSERT_NE(b, nullptr);
    memset(b, 1, kBlock);
  }
  const std::size_t rss_full = footprint().rss;
  std::vector<void*> kept;
  for (std::size_t i = 0; i < kCount; ++i) {
    if (i < kCount / 2 && i % 256 == 0) kept.push_back(blocks[i]);
    else free(blocks[i]);
  }
  hakmem_drain_now();
  const hakmem_stats before = stats();
  EXPECT_TRUE(tick_until([&] { return footprint().rss + 36 * kMiB < rss_full; }))
      << "of 48 MiB freed, " << (rss_full - footprint().rss) / kMiB << " MiB went back";
  EXPECT_GT(stats().purged_bytes, before.purged_bytes);
  for (void* b : kept) free(b);
}

// The way redis accounts a client: the sum of malloc_usable_size over its
// buffers, which it grows by doubling, trims to what it holds, and frees
// and allocates again. Every buffer must be accounted as what was asked
// (within its class), whatever was freed before it, or the accounting sees
// clients that do not exist.
TEST(UsableSizeAccounting, BuffersGrownShrunkAndReusedAreAccountedAsAsked) {
  constexpr int kClients = 64, kSteps = 20000;
  struct Buffer {
    unsigned char* p = nullptr;
    std::size_t asked = 0;
  };
  std::vector<Buffer> clients(kClients);
  std::uint64_t s = 0x9E3779B97F4A7C15ull;
  auto next = [&s] {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  };
  std::size_t worst_total = 0, worst_asked = 0;
  for (int step = 0; step < kSteps; ++step) {
    Buffer& b = clients[next() % kClients];
    const std::uint64_t r = next();
    std::size_t want;
    switch (r % 4) {
      case 0:  // grow: double, or a query's worth to start with
        want = b.asked ? b.asked * 2 : 16 + (r >> 8) % 32768;
        if (want > 64 * kMiB) want = 1024;
        break;
      case 1:  // trim to what is used
        want = b.asked ? 1 + (r >> 8) % b.asked : 64;
        break;
      case 2:  // free and start over
        free(b.p);
        b = {};
        continue;
      default:  // a big argument now and then: a multi-MB bulk string
        want = (r >> 8) % 16 == 0 ? kMiB + (r >> 16) % (8 * kMiB) : 1 + (r >> 8) % 4096;
        break;
    }
    auto* q = static_cast<unsigned char*>(realloc(b.p, want));
    ASSERT_NE(q, nullptr);
    q[want - 1] = 1;
    b = {q, want};
    const std::size_t usable = malloc_usable_size(q);
    ASSERT_GE(usable, want);
    ASSERT_LE(usable, class_bound(want)) << "step " << step << ": asked " << want;
    std::size_t total = 0, asked = 0;
    for (const Buffer& c : clients) {
      if (c.p) total += malloc_usable_size(c.p), asked += c.asked;
    }
    if (total > worst_total) worst_total = total, worst_asked = asked;
    ASSERT_LE(total, asked + asked / 4 + kClients * 4096) << "step " << step;
  }
  for (Buffer& b : clients) free(b.p);
  RecordProperty("worst_accounted_bytes", std::to_string(worst_total));
  RecordProperty("asked_then", std::to_string(worst_asked));
}
