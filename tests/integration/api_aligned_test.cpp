// posix_memalign, aligned_alloc, memalign, valloc and pvalloc with hakmem as
// the allocator: every power-of-two alignment from 1 byte to 64 MiB, for
// sizes below, at and above the alignment, live at the same time; bad
// alignments; and impossible sizes.
#include <malloc.h>
#include <unistd.h>

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
constexpr int kMaxAlignShift = 26;  // 64 MiB: well past the 2 MiB a SuperSlab might be

std::vector<std::size_t> sizes_for(std::size_t alignment) {
  std::vector<std::size_t> sizes = {1, 8, 16, 17, 100, 1040, 4000, 70000, (1 << 20) + 3};
  // Sizes around the alignment, kept to a few MiB so the big alignments test
  // placement rather than the machine's memory.
  for (std::size_t s : {alignment - 1, alignment, alignment + 1, alignment * 3 / 2 + 5})
    if (s > 0 && s <= (std::size_t{8} << 20)) sizes.push_back(s);
  return sizes;
}

const char* kFamilies[] = {"posix_memalign", "aligned_alloc", "memalign"};

void* aligned_by(int family, std::size_t alignment, std::size_t size) {
  switch (family) {
    case 0: {
      void* p = nullptr;
      return posix_memalign(&p, alignment, size) == 0 ? p : nullptr;
    }
    case 1:
      return aligned_alloc(alignment, size);
    default:
      return memalign(alignment, size);
  }
}

struct Block {
  void* p;
  std::size_t size;
  std::uint32_t seed;
};

}  // namespace

TEST(Aligned, EveryPowerOfTwoAlignmentManySizesAllLive) {
  for (int shift = 0; shift <= kMaxAlignShift; ++shift) {
    const std::size_t alignment = std::size_t{1} << shift;
    std::vector<Block> live;
    for (int family = 0; family < 3; ++family) {
      // posix_memalign requires a multiple of sizeof(void*).
      if (family == 0 && alignment < sizeof(void*)) continue;
      for (std::size_t size : sizes_for(alignment)) {
        void* p = opaque(aligned_by(family, alignment, size));
        ASSERT_NE(p, nullptr) << kFamilies[family] << "(" << alignment << ", " << size << ")";
        ASSERT_EQ(hakmem_owns(p), 1) << kFamilies[family] << "(" << alignment << ", " << size << ")";
        EXPECT_TRUE(aligned_to(p, alignment))
            << kFamilies[family] << "(" << alignment << ", " << size << ") = " << p;
        EXPECT_GE(malloc_usable_size(p), size)
            << kFamilies[family] << "(" << alignment << ", " << size << ")";
        auto seed = static_cast<std::uint32_t>(live.size() * 7 + shift);
        fill_pattern(p, size, seed);
        live.push_back({p, size, seed});
      }
    }
    for (const Block& b : live) {
      EXPECT_EQ(check_pattern(b.p, b.size, b.seed), b.size)
          << "aligned block of " << b.size << " at alignment " << alignment << " was overwritten";
      free(b.p);
    }
  }
}

TEST(Aligned, PosixMemalignRejectsBadAlignmentsAndLeavesPointerUntouched) {
  const std::size_t bad[] = {0,  1,   2,    4,    3,    12,         24,
                             48, 100, 4097, 8200, (1 << 20) + 8, 3 * sizeof(void*), SIZE_MAX};
  for (std::size_t alignment : bad) {
    void* sentinel = reinterpret_cast<void*>(std::uintptr_t{0xfeedface});
    void* p = sentinel;
    EXPECT_EQ(posix_memalign(&p, opaque(alignment), 64), EINVAL) << "alignment " << alignment;
    EXPECT_EQ(p, sentinel) << "posix_memalign wrote *memptr for bad alignment " << alignment;
  }
}

TEST(Aligned, ImpossibleSizesFailWithEnomem) {
  const std::size_t huge[] = {kPtrdiffMax + 1, SIZE_MAX, SIZE_MAX - 8, SIZE_MAX - 4095,
                              SIZE_MAX - (std::size_t{1} << 20), kPtrdiffMax - 4096};
  for (std::size_t size : huge) {
    for (std::size_t alignment : {std::size_t{16}, std::size_t{64}, std::size_t{4096},
                                  std::size_t{1} << 21}) {
      void* sentinel = reinterpret_cast<void*>(std::uintptr_t{0xfeedface});
      void* p = sentinel;
      EXPECT_EQ(posix_memalign(&p, alignment, opaque(size)), ENOMEM)
          << "posix_memalign(" << alignment << ", " << size << ")";
      if (p != sentinel) {
        EXPECT_EQ(p, nullptr) << "posix_memalign failed but returned a block";
      }

      errno = 0;
      p = aligned_alloc(alignment, opaque(size));
      EXPECT_EQ(p, nullptr) << "aligned_alloc(" << alignment << ", " << size << ")";
      EXPECT_EQ(errno, ENOMEM) << "aligned_alloc(" << alignment << ", " << size << ")";

      errno = 0;
      p = memalign(alignment, opaque(size));
      EXPECT_EQ(p, nullptr) << "memalign(" << alignment << ", " << size << ")";
      EXPECT_EQ(errno, ENOMEM) << "memalign(" << alignment << ", " << size << ")";
    }
    errno = 0;
    EXPECT_EQ(valloc(opaque(size)), nullptr) << "valloc(" << size << ")";
    EXPECT_EQ(errno, ENOMEM) << "valloc(" << size << ")";
    errno = 0;
    // pvalloc rounds up to a page: SIZE_MAX - 4095 rounds to 0 if done naively.
    EXPECT_EQ(pvalloc(opaque(size)), nullptr) << "pvalloc(" << size << ")";
    EXPECT_EQ(errno, ENOMEM) << "pvalloc(" << size << ")";
  }
}

TEST(Aligned, MemalignRoundsANonPowerOfTwoAlignmentUp) {
  // glibc rounds memalign's alignment up to a power of two instead of failing.
  void* p = opaque(memalign(48, 100));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(hakmem_owns(p), 1);
  EXPECT_TRUE(aligned_to(p, 16));
  free(p);
}

TEST(Aligned, VallocAndPvallocArePageAligned) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  for (std::size_t n : {std::size_t{1}, std::size_t{100}, page - 1, page, page + 1, 5 * page + 3,
                        std::size_t{3} << 20}) {
    void* v = opaque(valloc(n));
    ASSERT_NE(v, nullptr) << "valloc(" << n << ")";
    EXPECT_EQ(hakmem_owns(v), 1);
    EXPECT_TRUE(aligned_to(v, page)) << "valloc(" << n << ") = " << v;
    EXPECT_GE(malloc_usable_size(v), n);
    memset(v, 0x11, n);

    void* pv = opaque(pvalloc(n));
    ASSERT_NE(pv, nullptr) << "pvalloc(" << n << ")";
    EXPECT_EQ(hakmem_owns(pv), 1);
    EXPECT_TRUE(aligned_to(pv, page)) << "pvalloc(" << n << ") = " << pv;
    const std::size_t rounded = (n + page - 1) / page * page;
    EXPECT_GE(malloc_usable_size(pv), rounded) << "pvalloc(" << n << ") must cover whole pages";
    memset(pv, 0x22, rounded);
    free(v);
    free(pv);
  }
  void* pv0 = opaque(pvalloc(0));
  ASSERT_NE(pv0, nullptr);
  EXPECT_EQ(hakmem_owns(pv0), 1);
  free(pv0);
}
