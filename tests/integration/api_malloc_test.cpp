// malloc, calloc, free and malloc_usable_size at their edges, with hakmem as
// the allocator: zero sizes, impossible sizes, calloc overflow, zeroing of
// recycled blocks, usable sizes that really are usable, and errno.
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

// Sizes that no allocator can satisfy. Those just below SIZE_MAX catch
// rounding (size + header, round up to a class or a page) that wraps around
// to a small number and returns a tiny block.
const std::size_t kImpossible[] = {
    kPtrdiffMax + 1, kPtrdiffMax + 4096, SIZE_MAX,        SIZE_MAX - 1,
    SIZE_MAX - 15,   SIZE_MAX - 16,      SIZE_MAX - 4095, SIZE_MAX - 4096,
    SIZE_MAX - (std::size_t{1} << 21),   kPtrdiffMax - 4096,  // below the limit, above any address space
};

// Sizes that cross every kind of boundary: tiny, the small classes (16..1040),
// medium, and blocks big enough to be mapped on their own.
std::vector<std::size_t> boundary_sizes() {
  std::vector<std::size_t> sizes;
  for (std::size_t n = 1; n <= 1100; ++n) sizes.push_back(n);
  for (std::size_t n = 1024; n <= (std::size_t{64} << 20); n *= 2)
    for (std::size_t d : {n - 1, n, n + 1, n + n / 2}) sizes.push_back(d);
  return sizes;
}

std::size_t first_nonzero(const void* p, std::size_t n) {
  auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != 0) return i;
  return n;
}

}  // namespace

TEST(Malloc, ZeroReturnsDistinctFreeableBlocks) {
  void* a = opaque(malloc(0));
  void* b = opaque(malloc(0));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(hakmem_owns(a), 1);
  EXPECT_EQ(hakmem_owns(b), 1);
  free(a);
  free(b);

  void* c = opaque(calloc(0, 0));
  void* d = opaque(calloc(0, 16));
  ASSERT_NE(c, nullptr);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(hakmem_owns(c), 1);
  EXPECT_EQ(hakmem_owns(d), 1);
  free(c);
  free(d);
}

TEST(Malloc, EverySizeIsOwnedAlignedAndWritable) {
  for (std::size_t n : boundary_sizes()) {
    void* p = opaque(malloc(n));
    ASSERT_NE(p, nullptr) << "malloc(" << n << ")";
    ASSERT_EQ(hakmem_owns(p), 1) << "malloc(" << n << ")";
    // glibc hands out 16-byte alignment for all sizes; programs using SSE
    // rely on it. Below 16 bytes no object needs more than 8.
    std::size_t want = n >= 16 ? 16 : 8;
    EXPECT_TRUE(aligned_to(p, want)) << "malloc(" << n << ") = " << p;
    std::size_t usable = malloc_usable_size(p);
    EXPECT_GE(usable, n) << "malloc(" << n << ")";
    memset(p, 0xC3, usable);
    free(p);
  }
}

TEST(Malloc, ImpossibleSizesFailWithEnomem) {
  for (std::size_t n : kImpossible) {
    errno = 0;
    void* p = malloc(opaque(n));
    EXPECT_EQ(p, nullptr) << "malloc(" << n << ")";
    EXPECT_EQ(errno, ENOMEM) << "malloc(" << n << ")";
    if (p != nullptr) free(p);
  }
  // Still a working allocator afterwards.
  void* p = opaque(malloc(100));
  EXPECT_EQ(hakmem_owns(p), 1);
  free(p);
}

TEST(Calloc, OverflowAndImpossibleProductsFailWithEnomem) {
  const std::size_t half = SIZE_MAX / 2 + 1;
  const std::size_t four_g = std::size_t{1} << 32;
  const std::pair<std::size_t, std::size_t> cases[] = {
      {half, 2},          {2, half},          {four_g, four_g}, {SIZE_MAX, SIZE_MAX},
      {SIZE_MAX, 2},      {3, SIZE_MAX / 3 + 1},
      {1, kPtrdiffMax + 1}, {kPtrdiffMax / 2 + 1, 2},  // no overflow, but above PTRDIFF_MAX
      {SIZE_MAX - 15, 1}, {1, SIZE_MAX - 4095},
  };
  for (auto [nmemb, size] : cases) {
    errno = 0;
    void* p = calloc(opaque(nmemb), opaque(size));
    EXPECT_EQ(p, nullptr) << "calloc(" << nmemb << ", " << size << ")";
    EXPECT_EQ(errno, ENOMEM) << "calloc(" << nmemb << ", " << size << ")";
    if (p != nullptr) free(p);
  }
}

TEST(Calloc, ZeroesRecycledBlocks) {
  const std::size_t sizes[] = {16,   24,   48,    100,   512,   1024,      1040,      1041,
                               2000, 4096, 8192,  32768, 65544, 256 << 10, 1 << 20, 4 << 20};
  for (std::size_t n : sizes) {
    // Many blocks at once, so the calloc'd ones land on memory this test dirtied.
    const int count = n <= 65544 ? 64 : 8;
    const int rounds = n <= 65544 ? 20 : 5;
    for (int round = 0; round < rounds; ++round) {
      std::vector<void*> dirty;
      for (int i = 0; i < count; ++i) {
        void* p = opaque(malloc(n));
        ASSERT_NE(p, nullptr);
        memset(p, 0xA5, malloc_usable_size(p));
        dirty.push_back(p);
      }
      for (void* p : dirty) free(p);
      std::vector<void*> clean;
      for (int i = 0; i < count; ++i) {
        // Alternate the factorisation: calloc(n,1) and calloc(n/8,8) must agree.
        void* q = opaque(i % 2 ? calloc(n, 1) : calloc(n / 8, 8));
        std::size_t want = i % 2 ? n : (n / 8) * 8;
        ASSERT_NE(q, nullptr);
        ASSERT_EQ(hakmem_owns(q), 1);
        std::size_t bad = first_nonzero(q, want);
        ASSERT_EQ(bad, want) << "calloc'd " << want << " bytes, byte " << bad
                             << " is not zero (round " << round << ")";
        clean.push_back(q);
      }
      for (void* q : clean) free(q);
    }
  }
}

TEST(Calloc, ZeroesBlocksRecycledFromOtherSizesAndAlignments) {
  // A cached mapping or slab block may serve a calloc of a different size
  // than the dirty block it last held (aligned ones included).
  std::uint64_t s = 7;
  for (int i = 0; i < 2000; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    const std::size_t dirty_size = 16 + (s >> 30) % 300000;
    const std::size_t clean_size = 16 + (s >> 45) % 300000;
    const std::size_t alignment = std::size_t{1} << (3 + (s >> 20) % 16);
    void* p = opaque(malloc(dirty_size));
    ASSERT_NE(p, nullptr);
    memset(p, 0xAB, malloc_usable_size(p));
    free(p);
    void* a = nullptr;
    ASSERT_EQ(posix_memalign(&a, alignment, dirty_size), 0);
    memset(a, 0xEF, malloc_usable_size(a));
    free(a);
    void* q = opaque(calloc(1, clean_size));
    ASSERT_NE(q, nullptr);
    ASSERT_EQ(hakmem_owns(q), 1);
    const std::size_t bad = first_nonzero(q, clean_size);
    ASSERT_EQ(bad, clean_size) << "calloc(1, " << clean_size << ") after dirty blocks of "
                               << dirty_size << ": byte " << bad << " is not zero";
    free(q);
  }
}

TEST(MallocUsableSize, IsAtLeastRequestedAndBlocksDoNotOverlap) {
  EXPECT_EQ(malloc_usable_size(nullptr), 0u);
  const std::size_t sizes[] = {1,    8,     15,    16,    17,    100,       1000,     1040,
                               1041, 3000,  4096,  10000, 65536, 300000,    1 << 20, (3 << 20) + 7};
  for (std::size_t n : sizes) {
    // Fill each block's whole usable size, then check none was overwritten by
    // a neighbour: an overstated usable size shows up as a corrupted pattern.
    std::vector<std::pair<void*, std::size_t>> blocks;
    for (int i = 0; i < 48; ++i) {
      void* p = opaque(malloc(n));
      ASSERT_NE(p, nullptr);
      ASSERT_EQ(hakmem_owns(p), 1);
      std::size_t usable = malloc_usable_size(p);
      ASSERT_GE(usable, n);
      fill_pattern(p, usable, static_cast<std::uint32_t>(i));
      blocks.emplace_back(p, usable);
    }
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      auto [p, usable] = blocks[i];
      EXPECT_EQ(check_pattern(p, usable, static_cast<std::uint32_t>(i)), usable)
          << "block " << i << " of size " << n << " (usable " << usable << ") was overwritten";
      free(p);
    }
  }
}

TEST(Free, NullIsANoOpAndErrnoSurvivesEveryKindOfFree) {
  constexpr int kSentinel = 0x5eed;
  errno = kSentinel;
  free(nullptr);
  EXPECT_EQ(errno, kSentinel);

  // Enough frees to pass any drain interval, and enough distinct large
  // blocks to overflow a large-block cache, so munmap/madvise paths run too.
  std::vector<void*> blocks;
  for (int i = 0; i < 6000; ++i) blocks.push_back(malloc(16 + (i * 37) % 1100));
  for (int i = 0; i < 64; ++i) blocks.push_back(malloc((std::size_t{2} << 20) + i * 4096));
  for (int i = 0; i < 16; ++i) blocks.push_back(aligned_alloc(std::size_t{1} << (6 + i), 300));
  for (void* p : blocks) {
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(hakmem_owns(p), 1);
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    errno = kSentinel;
    free(opaque(p));
    ASSERT_EQ(errno, kSentinel) << "free(0x" << std::hex << addr << ") changed errno";
  }
}
