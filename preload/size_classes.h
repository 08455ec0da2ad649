// Size classes: the block sizes small allocations are rounded up to.
//
// Contract: pure constexpr tables, usable from the malloc fast path, from
// the allocator's slow paths and from unit tests alike. Classes run from 16
// bytes to kMaxSmall (32 KiB): 16-byte steps up to 128, then four classes per
// doubling. Every power of two from 16 to kMaxSmall is a class, which is what
// lets memalign pick a naturally aligned block instead of an interior pointer.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace hk {

constexpr unsigned kNumClasses = 40;
constexpr size_t kMaxSmall = 32768;

// Class of a size in (128, kMaxSmall]: four classes per power of two.
constexpr unsigned class_by_log(size_t size) {
  const unsigned lg = 63u - unsigned(__builtin_clzll(uint64_t(size - 1)));
  const unsigned sub = unsigned((size - 1 - (size_t(1) << lg)) >> (lg - 2));
  return 8u + (lg - 7u) * 4u + sub;
}

constexpr size_t class_size_of(unsigned cls) {
  if (cls < 8) return size_t(cls + 1) * 16;
  const unsigned lg = 7 + (cls - 8) / 4;
  return (size_t(1) << lg) + size_t((cls - 8) % 4 + 1) * (size_t(1) << (lg - 2));
}

struct ClassTables {
  // Index (size + 15) / 16, for every small size: one load and no branch
  // on the size. A second, coarser table above 2 KiB saved 1.5 KiB but cost
  // a branch that mispredicted whenever a program mixed sizes across it.
  uint8_t by_16[kMaxSmall / 16 + 1];
  uint32_t size[kNumClasses];
  uint16_t sll_cap[kNumClasses];
  // 32 KiB pages per slab (superslab.h): 1, or 2 for the classes above
  // 16 KiB, so that every slab holds at least kMinSlabBlocks blocks.
  uint8_t pages[kNumClasses];
};

// A slab of one block went back to the pool as soon as the block was free,
// and came back at the next malloc: random_mixed 16..32768 acquired 235K
// slabs per 20M operations, 196K of them in the four classes above 16 KiB,
// and logged a record for each acquire and release (with a recorder
// attached, 6.5% slower than without). Two-page slabs for those classes:
// 65K acquisitions, 3.5% with the recorder, peak RSS unchanged. Four pages
// and at least four blocks per slab: 34K, the same 3.5%, but 12% more RSS
// (partly used 128 KiB slabs).
constexpr unsigned kMinSlabBlocks = 2;
constexpr size_t kPageSize = 32768;  // == kSlabSize (superslab.h checks)

constexpr ClassTables make_class_tables() {
  ClassTables t{};
  for (unsigned c = 0; c < kNumClasses; ++c) {
    const size_t s = class_size_of(c);
    t.size[c] = uint32_t(s);
    unsigned pages = 1;
    while (pages * kPageSize < kMinSlabBlocks * s) pages *= 2;
    t.pages[c] = uint8_t(pages);
    // Bounded TLS SLL: 32 KiB of blocks per class, within 16..256 blocks.
    // Fewer than 16 makes a class above 2 KiB refill and flush every few
    // operations (callgrind on random_mixed 16..32768: refill and overflow
    // were a quarter of the allocator's instructions with a floor of 4).
    size_t cap = 32768 / s;
    cap = cap < 16 ? 16 : (cap > 256 ? 256 : cap);
    t.sll_cap[c] = uint16_t(cap);
  }
  for (size_t i = 0; i <= kMaxSmall / 16; ++i) {
    const size_t s = i == 0 ? 1 : i * 16;
    t.by_16[i] = uint8_t(s <= 128 ? (s + 15) / 16 - 1 : class_by_log(s));
  }
  return t;
}

inline constexpr ClassTables kClasses = make_class_tables();

// Any size up to kMaxSmall (including 0, which gets the smallest class).
constexpr unsigned size_to_class(size_t size) { return kClasses.by_16[(size + 15) >> 4]; }

constexpr size_t class_size(unsigned cls) { return kClasses.size[cls]; }

}  // namespace hk
