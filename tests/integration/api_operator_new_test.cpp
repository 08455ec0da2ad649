// Every operator new and delete with hakmem as the allocator: plain, array,
// nothrow, sized and align_val_t, and their combinations; bad_alloc on an
// impossible size; and the new_handler loop the standard requires.
#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <new>

#include <gtest/gtest.h>

#include "allocator_under_test.h"

using hk_test::aligned_to;
using hk_test::opaque;

namespace {

constexpr std::size_t kImpossible[] = {SIZE_MAX, SIZE_MAX - 15,
                                       static_cast<std::size_t>(PTRDIFF_MAX) + 1};
constexpr std::size_t kSizes[] = {0, 1, 16, 100, 1040, 1041, 5000, 100000, 3 << 20};

void check_block(void* p, std::size_t n, std::size_t alignment) {
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(hakmem_owns(p), 1) << "operator new(" << n << ") did not come from hakmem";
  EXPECT_TRUE(aligned_to(p, alignment)) << "operator new(" << n << ", " << alignment << ") = " << p;
  EXPECT_GE(malloc_usable_size(p), n);
  if (n > 0) static_cast<volatile unsigned char*>(p)[n - 1] = 0x42;
  static_cast<volatile unsigned char*>(p)[0] = 0x24;
}

int g_handler_calls = 0;
int g_handler_calls_before_giving_up = 1;

// Counts its calls; after the configured number it uninstalls itself so the
// next failure ends in bad_alloc (or nullptr for nothrow).
void counting_handler() {
  if (++g_handler_calls >= g_handler_calls_before_giving_up) std::set_new_handler(nullptr);
}

void arm_handler(int calls_before_giving_up) {
  g_handler_calls = 0;
  g_handler_calls_before_giving_up = calls_before_giving_up;
  std::set_new_handler(counting_handler);
}

}  // namespace

TEST(OperatorNew, PlainArrayAndNothrowWithEveryMatchingDelete) {
  const std::size_t kDefault = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
  for (std::size_t n : kSizes) {
    void* p;
    p = ::operator new(n);                  check_block(p, n, kDefault); ::operator delete(p);
    p = ::operator new(n);                  check_block(p, n, kDefault); ::operator delete(p, n);
    p = ::operator new(n);                  check_block(p, n, kDefault); ::operator delete(p, std::nothrow);
    p = ::operator new[](n);                check_block(p, n, kDefault); ::operator delete[](p);
    p = ::operator new[](n);                check_block(p, n, kDefault); ::operator delete[](p, n);
    p = ::operator new[](n);                check_block(p, n, kDefault); ::operator delete[](p, std::nothrow);
    p = ::operator new(n, std::nothrow);    check_block(p, n, kDefault); ::operator delete(p);
    p = ::operator new(n, std::nothrow);    check_block(p, n, kDefault); ::operator delete(p, n);
    p = ::operator new[](n, std::nothrow);  check_block(p, n, kDefault); ::operator delete[](p);
    p = ::operator new[](n, std::nothrow);  check_block(p, n, kDefault); ::operator delete[](p, std::nothrow);
    // Memory from new may legitimately meet free() in mixed C/C++ code.
    p = ::operator new(n);                  check_block(p, n, kDefault); free(opaque(p));
  }
}

TEST(OperatorNew, AlignValTFormsHonourEveryAlignment) {
  for (int shift = 0; shift <= 21; ++shift) {
    const std::size_t a = std::size_t{1} << shift;
    const std::align_val_t al{a};
    for (std::size_t n : {std::size_t{1}, std::size_t{24}, a, a + 1, std::size_t{5000}}) {
      void* p;
      p = ::operator new(n, al);                         check_block(p, n, a); ::operator delete(p, al);
      p = ::operator new(n, al);                         check_block(p, n, a); ::operator delete(p, n, al);
      p = ::operator new(n, al);                         check_block(p, n, a); ::operator delete(p, al, std::nothrow);
      p = ::operator new[](n, al);                       check_block(p, n, a); ::operator delete[](p, al);
      p = ::operator new[](n, al);                       check_block(p, n, a); ::operator delete[](p, n, al);
      p = ::operator new[](n, al);                       check_block(p, n, a); ::operator delete[](p, al, std::nothrow);
      p = ::operator new(n, al, std::nothrow);           check_block(p, n, a); ::operator delete(p, al);
      p = ::operator new[](n, al, std::nothrow);         check_block(p, n, a); ::operator delete[](p, n, al);
    }
  }
}

TEST(OperatorNew, ImpossibleSizeThrowsBadAllocAndNothrowReturnsNull) {
  std::set_new_handler(nullptr);
  const std::align_val_t al{64};
  for (std::size_t n : kImpossible) {
    EXPECT_THROW(::operator delete(::operator new(opaque(n))), std::bad_alloc) << n;
    EXPECT_THROW(::operator delete[](::operator new[](opaque(n))), std::bad_alloc) << n;
    EXPECT_THROW(::operator delete(::operator new(opaque(n), al), al), std::bad_alloc) << n;
    EXPECT_THROW(::operator delete[](::operator new[](opaque(n), al), al), std::bad_alloc) << n;
    EXPECT_EQ(::operator new(opaque(n), std::nothrow), nullptr) << n;
    EXPECT_EQ(::operator new[](opaque(n), std::nothrow), nullptr) << n;
    EXPECT_EQ(::operator new(opaque(n), al, std::nothrow), nullptr) << n;
    EXPECT_EQ(::operator new[](opaque(n), al, std::nothrow), nullptr) << n;
  }
}

TEST(OperatorNew, NewHandlerIsCalledUntilItGivesUp) {
  const std::size_t n = opaque(SIZE_MAX - 15);
  const std::align_val_t al{256};

  arm_handler(1);
  EXPECT_THROW(::operator delete(::operator new(n)), std::bad_alloc);
  EXPECT_EQ(g_handler_calls, 1) << "operator new(size_t)";

  // The standard's loop: call the handler again while it stays installed.
  arm_handler(3);
  EXPECT_THROW(::operator delete[](::operator new[](n)), std::bad_alloc);
  EXPECT_EQ(g_handler_calls, 3) << "operator new[](size_t)";

  arm_handler(2);
  EXPECT_THROW(::operator delete(::operator new(n, al), al), std::bad_alloc);
  EXPECT_EQ(g_handler_calls, 2) << "operator new(size_t, align_val_t)";

  arm_handler(1);
  EXPECT_EQ(::operator new(n, std::nothrow), nullptr);
  EXPECT_EQ(g_handler_calls, 1) << "operator new(size_t, nothrow_t)";

  arm_handler(2);
  EXPECT_EQ(::operator new[](n, al, std::nothrow), nullptr);
  EXPECT_EQ(g_handler_calls, 2) << "operator new[](size_t, align_val_t, nothrow_t)";

  std::set_new_handler(nullptr);
}

TEST(OperatorNew, NewExpressionsUseHakmem) {
  struct alignas(128) Wide {
    unsigned char bytes[300];
  };
  auto* w = new Wide[5];
  EXPECT_EQ(hakmem_owns(w), 1);
  EXPECT_TRUE(aligned_to(w, 128));
  auto* i = new int(7);
  EXPECT_EQ(hakmem_owns(i), 1);
  delete i;
  delete[] w;
}
