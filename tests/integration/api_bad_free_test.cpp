// Invalid frees and recognisable double frees, with hakmem as the allocator:
// each must abort with one line on stderr that names hakmem and the pointer,
// never corrupt the heap silently. glibc's messages ("free(): invalid
// pointer") name no pointer, so these fail on glibc.
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "allocator_under_test.h"

using hk_test::opaque;

namespace {

// The pointer in hex, either case, with or without 0x and leading zeros,
// and the word hakmem, in either order on one line ('.' in POSIX regex
// matches a newline, hence the bracket with a real newline in it).
std::string abort_line_regex(const void* p) {
  char hex[32];
  snprintf(hex, sizeof hex, "%lx", static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(p)));
  std::string ptr;
  for (const char* c = hex; *c != '\0'; ++c) {
    if (std::isalpha(static_cast<unsigned char>(*c)))
      ptr += std::string("[") + *c + static_cast<char>(std::toupper(*c)) + "]";
    else
      ptr += *c;
  }
  return "(hakmem[^\n]*" + ptr + "|" + ptr + "[^\n]*hakmem)";
}

// free through a pointer the compiler cannot see through, so that it
// neither warns about nor rearranges the deliberate misuse below.
void (*volatile g_free)(void*) = free;

// hakmem catches a small block's double free when the block would be handed
// out again (hot_path.h), not in the second free(): the mallocs that follow
// must abort before two of them return the same block.
void* (*volatile g_malloc)(size_t) = malloc;

// n mallocs of `size`, none freed: if `twice` comes back a second time, two
// owners hold it, which must never happen: the allocator has to abort first.
// Returning normally fails the death test too.
void malloc_until_repeat(size_t size, int n, const void* twice) {
  int seen = 0;
  for (int i = 0; i < n; ++i)
    if (g_malloc(size) == twice && ++seen == 2) {
      fprintf(stderr, "block %p handed out twice\n", twice);
      _exit(0);  // no abort line and status 0: EXPECT_DEATH fails
    }
}

class BadFree : public testing::Test {
 protected:
  // Fork, never re-exec: the expected line names an address from this
  // process, which a re-executed child (new ASLR layout) would not share.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "fast"); }
};

}  // namespace

TEST_F(BadFree, StackAddressAborts) {
  char buf[64];
  void* p = opaque(static_cast<void*>(buf + 16));
  EXPECT_DEATH(free(p), abort_line_regex(p));
}

TEST_F(BadFree, ForeignMappingAborts) {
  void* page = mmap(nullptr, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  void* p = opaque(static_cast<char*>(page) + 64);
  EXPECT_DEATH(free(p), abort_line_regex(p));
  munmap(page, 1 << 16);
}

TEST_F(BadFree, MisalignedInteriorPointerOfSmallBlockAborts) {
  auto* block = static_cast<char*>(opaque(malloc(64)));
  ASSERT_EQ(hakmem_owns(block), 1);
  void* p = opaque(block + 1);  // no block of any class starts here
  EXPECT_DEATH(free(p), abort_line_regex(p));
  free(block);
}

TEST_F(BadFree, SixteenByteAlignedInteriorPointerOfSmallBlockAborts) {
  auto* block = static_cast<char*>(opaque(malloc(64)));
  ASSERT_EQ(hakmem_owns(block), 1);
  void* p = opaque(block + 16);  // aligned like a block, but inside one
  EXPECT_DEATH(free(p), abort_line_regex(p));
  free(block);
}

TEST_F(BadFree, InteriorPointerOfLargeBlockAborts) {
  auto* block = static_cast<char*>(opaque(malloc(4 << 20)));
  ASSERT_EQ(hakmem_owns(block), 1);
  void* p = opaque(block + (1 << 20));
  EXPECT_DEATH(free(p), abort_line_regex(p));
  free(block);
}

TEST_F(BadFree, ImmediateDoubleFreeOfSmallBlockAborts) {
  void* p = opaque(malloc(48));
  ASSERT_EQ(hakmem_owns(p), 1);
  EXPECT_DEATH(
      {
        g_free(p);
        g_free(p);
        malloc_until_repeat(48, 4, p);
      },
      abort_line_regex(p));
  free(p);  // the double free happened in the child only
}

TEST_F(BadFree, DoubleFreeWithAnotherFreeInBetweenAborts) {
  // glibc's tcache catches this one too; left alone, the block sits in a
  // free list twice and two later mallocs return the same memory.
  void* a = opaque(malloc(64));
  void* b = opaque(malloc(64));
  ASSERT_EQ(hakmem_owns(a), 1);
  EXPECT_DEATH(
      {
        g_free(a);
        g_free(b);
        g_free(a);
        malloc_until_repeat(64, 6, a);
      },
      abort_line_regex(a));
  free(a);
  free(b);
}

TEST_F(BadFree, DoubleFreeLeftThroughDrainsIsCaughtBeforeReuse) {
  // Frees of other blocks between the double free and the next mallocs run
  // the periodic drain and the SLL's overflow, which can return the
  // twice-freed block (both entries) to its slab's freelist; it must still
  // never reach two owners.
  void* a = opaque(malloc(64));
  ASSERT_EQ(hakmem_owns(a), 1);
  EXPECT_DEATH(
      {
        void* others[3000];
        for (void*& o : others) o = g_malloc(64);
        g_free(a);
        g_free(a);
        for (void* o : others) g_free(o);
        malloc_until_repeat(64, 6000, a);
      },
      "hakmem: double free");
  free(a);
}

TEST_F(BadFree, DoubleFreeOfLargeBlockAborts) {
  void* p = opaque(malloc(8 << 20));
  ASSERT_EQ(hakmem_owns(p), 1);
  EXPECT_DEATH(
      {
        g_free(p);
        g_free(p);
      },
      abort_line_regex(p));
  free(p);
}

TEST_F(BadFree, ReallocOfInvalidPointerAborts) {
  char buf[64];
  void* p = opaque(static_cast<void*>(buf + 8));
  EXPECT_DEATH((void)opaque(realloc(p, 100)), abort_line_regex(p));
}
