// Size classes: the block sizes small allocations are rounded up to.
//
// Contract: pure constexpr tables, usable from the malloc fast path, from
// the allocator's slow paths and from unit tests alike. Classes run from 16
// bytes to kMaxSmall (32 KiB): 16-byte steps up to 128, then four classes per
// doubling, eight from 1 KiB to 8 KiB. Every power of two from 16 to
// kMaxSmall is a class, which is what lets memalign pick a naturally aligned
// block instead of an interior pointer.
//
// Eight per doubling from 1 to 8 KiB, where buffers of a page or two and
// their header are common: with four, sqlite's page-cache entries (a 4 KiB
// page and its header, 4368 bytes) took 5 KiB blocks, and sqlite with an
// in-memory database peaked at 1.25x glibc's RSS. Not above 8 KiB: every
// class costs a partly used slab and an SLL per thread, and eight there
// took random_mixed 16..32768's peak RSS from 8.5 to 11.0 MB.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace hk {

// 8 classes of 16-byte steps up to 128 B, then per doubling four, or eight
// from 1 KiB to 8 KiB.
constexpr unsigned steps_per_doubling(unsigned lg) { return lg >= 10 && lg < 13 ? 8 : 4; }
constexpr unsigned count_classes() {
  unsigned n = 8;
  for (unsigned lg = 7; lg < 15; ++lg) n += steps_per_doubling(lg);
  return n;
}
constexpr unsigned kNumClasses = count_classes();
constexpr size_t kMaxSmall = 32768;

struct ClassTables {
  // Index (size + 15) / 16, for every small size: one load and no branch
  // on the size. A second, coarser table above 2 KiB saved 1.5 KiB but cost
  // a branch that mispredicted whenever a program mixed sizes across it.
  uint8_t by_16[kMaxSmall / 16 + 1];
  uint32_t size[kNumClasses];
  uint16_t sll_cap[kNumClasses];      // a thread's SLL starts at this capacity
  uint16_t sll_cap_max[kNumClasses];  // and may grow to this one (thread_heap.cpp)
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
  unsigned c = 0;
  for (; c < 8; ++c) t.size[c] = uint32_t((c + 1) * 16);
  for (unsigned lg = 7; lg < 15; ++lg) {
    const unsigned n = steps_per_doubling(lg);
    for (unsigned k = 1; k <= n; ++k) t.size[c++] = uint32_t((size_t(1) << lg) + k * ((size_t(1) << lg) / n));
  }
  for (c = 0; c < kNumClasses; ++c) {
    const size_t s = t.size[c];
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
    // A class the program fills and frees in bulks larger than that grows
    // its SLL to 4 MiB of blocks (at most 4096), so the bulk cycles
    // through the thread cache instead of through the slabs (glibc's
    // bench-malloc-simple pattern: 1000 blocks of one size, then free all).
    size_t max = 4194304 / s;
    max = max < cap ? cap : (max > 4096 ? 4096 : max);
    t.sll_cap_max[c] = uint16_t(max);
  }
  // The tightest class for each multiple of 16 (classes are multiples of 16).
  c = 0;
  for (size_t i = 0; i <= kMaxSmall / 16; ++i) {
    while (t.size[c] < i * 16) ++c;
    t.by_16[i] = uint8_t(c);
  }
  return t;
}

inline constexpr ClassTables kClasses = make_class_tables();

// Any size up to kMaxSmall (including 0, which gets the smallest class).
constexpr unsigned size_to_class(size_t size) { return kClasses.by_16[(size + 15) >> 4]; }

constexpr size_t class_size(unsigned cls) { return kClasses.size[cls]; }

}  // namespace hk
