// Size classes: every request maps to the tightest class that holds it,
// and the classes keep the properties the allocator relies on.
#include <gtest/gtest.h>

#include "size_classes.h"

namespace {

using hk::class_size;
using hk::kNumClasses;
using hk::size_to_class;

TEST(SizeClasses, EverySizeGetsTheTightestClassThatHoldsIt) {
  for (size_t size = 0; size <= hk::kMaxSmall; ++size) {
    const unsigned c = size_to_class(size);
    ASSERT_LT(c, kNumClasses) << "size " << size;
    ASSERT_GE(class_size(c), size) << "size " << size;
    if (c > 0) {
      ASSERT_LT(class_size(c - 1), size) << "size " << size;
    }
  }
}

TEST(SizeClasses, ABlockRoundsUpByAtMostAnEighthFromOneToEightKiBAndAQuarterElsewhere) {
  for (size_t size = 129; size <= hk::kMaxSmall; ++size) {
    const size_t waste = class_size(size_to_class(size)) - size;
    if (size > 1024 && size <= 8192) ASSERT_LT(waste, size / 8) << size;
    else ASSERT_LT(waste, size / 4) << size;
  }
  EXPECT_EQ(class_size(size_to_class(4368)), 4608u) << "sqlite's page-cache entry";
}

TEST(SizeClasses, CoverTheSeedRangeAndGrowStrictly) {
  EXPECT_EQ(class_size(0), 16u);
  EXPECT_EQ(class_size(kNumClasses - 1), hk::kMaxSmall);
  EXPECT_GE(class_size(size_to_class(1040)), 1040u);
  for (unsigned c = 1; c < kNumClasses; ++c) {
    EXPECT_GT(class_size(c), class_size(c - 1));
    EXPECT_EQ(class_size(c) % 16, 0u) << "blocks must stay 16-byte aligned";
  }
}

TEST(SizeClasses, EveryPowerOfTwoIsAClass) {
  for (size_t p = 16; p <= hk::kMaxSmall; p *= 2) EXPECT_EQ(class_size(size_to_class(p)), p);
}

TEST(SizeClasses, EverySlabHoldsAtLeastTwoBlocksInAsFewPagesAsThatTakes) {
  for (unsigned c = 0; c < kNumClasses; ++c) {
    const unsigned pages = hk::kClasses.pages[c];
    EXPECT_TRUE(pages == 1 || pages == 2) << "class " << c;
    EXPECT_GE(pages * hk::kPageSize / class_size(c), hk::kMinSlabBlocks) << "class " << c;
    if (pages > 1) {
      EXPECT_LT((pages / 2) * hk::kPageSize / class_size(c), hk::kMinSlabBlocks) << "class " << c;
    }
  }
  EXPECT_EQ(hk::kClasses.pages[size_to_class(8192)], 1u);
  EXPECT_EQ(hk::kClasses.pages[size_to_class(16384)], 1u);
  EXPECT_EQ(hk::kClasses.pages[size_to_class(16385)], 2u);
  EXPECT_EQ(hk::kClasses.pages[size_to_class(hk::kMaxSmall)], 2u);
}

TEST(SizeClasses, TlsSllCapacityIsBounded) {
  for (unsigned c = 0; c < kNumClasses; ++c) {
    EXPECT_GE(hk::kClasses.sll_cap[c], 16u);
    EXPECT_LE(hk::kClasses.sll_cap[c], 256u);
    EXPECT_LE(hk::kClasses.sll_cap[c] * class_size(c), 16u * hk::kMaxSmall);
  }
}

}  // namespace
