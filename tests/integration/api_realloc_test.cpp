// realloc and reallocarray with hakmem as the allocator: contents survive
// growth and shrinkage across every class boundary and into mapped sizes;
// realloc(NULL, n) is malloc; realloc(p, 0) frees; a failed realloc or an
// overflowing reallocarray leaves the block valid and unchanged.
#include <malloc.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "allocator_under_test.h"

using hk_test::aligned_to;
using hk_test::check_pattern;
using hk_test::fill_pattern;
using hk_test::opaque;

namespace {

constexpr std::size_t kPtrdiffMax = static_cast<std::size_t>(PTRDIFF_MAX);
constexpr std::uint32_t kSeed = 77;

// Every size up to past the small classes, then geometric steps (with odd
// offsets) up to 24 MiB.
std::vector<std::size_t> growth_schedule() {
  std::vector<std::size_t> sizes;
  for (std::size_t n = 1; n <= 2100; ++n) sizes.push_back(n);
  for (std::size_t n = 2100; n <= (std::size_t{24} << 20); n += n / 5 + 13) sizes.push_back(n);
  return sizes;
}

// Walks p through `sizes` with realloc, checking at each step that the
// common prefix survived; a neighbour allocated at each step stops the
// allocator from always growing in place.
void* walk(void* p, std::size_t from, const std::vector<std::size_t>& sizes,
           std::vector<void*>& neighbours) {
  std::size_t cur = from;
  for (std::size_t n : sizes) {
    void* q = opaque(realloc(p, n));
    if (q == nullptr) {
      ADD_FAILURE() << "realloc(" << cur << " -> " << n << ") failed";
      return p;
    }
    if (hakmem_owns(q) != 1) ADD_FAILURE() << "realloc to " << n << " returned a foreign block";
    std::size_t keep = cur < n ? cur : n;
    std::size_t bad = check_pattern(q, keep, kSeed);
    if (bad != keep) {
      ADD_FAILURE() << "realloc " << cur << " -> " << n << " lost byte " << bad;
      return q;
    }
    fill_pattern(q, n, kSeed);
    neighbours.push_back(malloc(n < 4096 ? n : 64));
    p = q;
    cur = n;
  }
  return p;
}

}  // namespace

TEST(Realloc, NullIsMalloc) {
  for (std::size_t n : {0ul, 1ul, 100ul, 1040ul, 5000ul, 1ul << 20}) {
    void* p = opaque(realloc(nullptr, n));
    ASSERT_NE(p, nullptr) << "realloc(NULL, " << n << ")";
    EXPECT_EQ(hakmem_owns(p), 1) << "realloc(NULL, " << n << ")";
    EXPECT_GE(malloc_usable_size(p), n);
    memset(p, 0x5A, n);
    free(p);
  }
}

TEST(Realloc, GrowingAndShrinkingKeepsContentsAcrossEveryBoundary) {
  const std::vector<std::size_t> up = growth_schedule();
  const std::vector<std::size_t> down(up.rbegin() + 1, up.rend());
  std::vector<void*> neighbours;
  void* p = opaque(malloc(1));
  ASSERT_NE(p, nullptr);
  fill_pattern(p, 1, kSeed);
  p = walk(p, 1, up, neighbours);
  p = walk(p, up.back(), down, neighbours);
  free(p);
  for (void* n : neighbours) free(n);
}

TEST(Realloc, SameAndUsableSizeKeepContents) {
  for (std::size_t n : {24ul, 1000ul, 70000ul, 3ul << 20}) {
    void* p = opaque(malloc(n));
    ASSERT_NE(p, nullptr);
    std::size_t usable = malloc_usable_size(p);
    fill_pattern(p, usable, kSeed);
    void* q = opaque(realloc(p, usable));
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(check_pattern(q, usable, kSeed), usable);
    void* r = opaque(realloc(q, n));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(hakmem_owns(r), 1);
    EXPECT_EQ(check_pattern(r, n, kSeed), n);
    free(r);
  }
}

TEST(Realloc, AlignedBlocksReallocLikeAnyOther) {
  for (std::size_t alignment : {64ul, 4096ul, 1ul << 21}) {
    void* p = opaque(aligned_alloc(alignment, 300));
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(aligned_to(p, alignment));
    fill_pattern(p, 300, kSeed);
    void* q = opaque(realloc(p, 100000));
    ASSERT_NE(q, nullptr) << "realloc of a " << alignment << "-aligned block";
    EXPECT_EQ(hakmem_owns(q), 1);
    EXPECT_EQ(check_pattern(q, 300, kSeed), 300u);
    void* r = opaque(realloc(q, 40));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(check_pattern(r, 40, kSeed), 40u);
    free(r);
  }
}

TEST(Realloc, ZeroSizeFreesAndReturnsNull) {
  // That the block is really freed is checked in MemoryReuse.ReallocToZeroReallyFrees.
  for (std::size_t n : {1ul, 64ul, 1040ul, 50000ul, 4ul << 20}) {
    void* p = opaque(malloc(n));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(hakmem_owns(p), 1);
    EXPECT_EQ(realloc(p, 0), nullptr) << "realloc(malloc(" << n << "), 0)";
  }
}

TEST(Realloc, FailureLeavesTheBlockValidAndUnchanged) {
  const std::size_t impossible[] = {kPtrdiffMax + 1, SIZE_MAX, SIZE_MAX - 15, SIZE_MAX - 4095,
                                    kPtrdiffMax - 4096};
  for (std::size_t n : {64ul, 1040ul, 4096ul, 1ul << 20}) {
    void* p = opaque(malloc(n));
    ASSERT_NE(p, nullptr);
    fill_pattern(p, n, kSeed);
    for (std::size_t huge : impossible) {
      errno = 0;
      void* q = realloc(p, opaque(huge));
      EXPECT_EQ(q, nullptr) << "realloc(" << n << " -> " << huge << ")";
      EXPECT_EQ(errno, ENOMEM) << "realloc(" << n << " -> " << huge << ")";
      if (q != nullptr) {
        p = q;
        continue;
      }
      ASSERT_EQ(hakmem_owns(p), 1) << "failed realloc released the block";
      ASSERT_EQ(check_pattern(p, n, kSeed), n) << "failed realloc changed the block";
    }
    void* r = opaque(realloc(p, n * 2));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(check_pattern(r, n, kSeed), n);
    free(r);
  }
}

TEST(Reallocarray, OverflowFailsWithEnomemAndLeavesTheBlock) {
  void* p = opaque(reallocarray(nullptr, 100, 8));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(hakmem_owns(p), 1);
  fill_pattern(p, 800, kSeed);
  const std::pair<std::size_t, std::size_t> bad[] = {
      {SIZE_MAX / 2 + 1, 2}, {std::size_t{1} << 33, std::size_t{1} << 33},
      {SIZE_MAX, SIZE_MAX},  {kPtrdiffMax / 2 + 1, 2}};
  for (auto [nmemb, size] : bad) {
    errno = 0;
    void* q = reallocarray(p, opaque(nmemb), opaque(size));
    EXPECT_EQ(q, nullptr) << "reallocarray(p, " << nmemb << ", " << size << ")";
    EXPECT_EQ(errno, ENOMEM);
    if (q != nullptr) {
      p = q;
      continue;
    }
    ASSERT_EQ(check_pattern(p, 800, kSeed), 800u) << "failed reallocarray changed the block";
    errno = 0;
    EXPECT_EQ(reallocarray(nullptr, opaque(nmemb), opaque(size)), nullptr);
    EXPECT_EQ(errno, ENOMEM);
  }
  void* q = opaque(reallocarray(p, 1000, 8));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(hakmem_owns(q), 1);
  EXPECT_EQ(check_pattern(q, 800, kSeed), 800u);
  free(q);
}
