// SuperSlab and slab layout: the seed's vocabulary in memory.
//
// Contract: a SuperSlab is a kSsSize-aligned region of kSsSize bytes from
// mmap, cut into 32 KiB pages. Its first page holds this header (so every
// data page, and every power-of-two block in it, keeps its natural
// alignment). A slab is one page, or two for the classes above 16 KiB
// (kClasses.pages), aligned to its size, serving one size class at a time.
// Each slab's metadata has `used`
// (blocks handed out of the slab: live in the program, or parked in its
// owner's TLS SLL / spill list), a freelist and an owner thread heap.
//
// Every page has a metadata record; the first page's is the slab's. The
// other pages of a slab mirror what the free fast path reads (owner, class,
// bin offset, block geometry, state), so that free() finds it at
// slab_of(p) for any block; slow paths take slab_head() of that.
//
// Who writes what: `owner`, `state` and the list links of an unowned
// (free/orphan) slab change under the shared-pool lock only; the fields of an
// owned slab belong to its owner thread. The free fast path reads owner, cls
// and start_magic without a lock: they only change while no live block of the
// slab exists, so a correct program never races them.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include <hakmem/events.h>

#include "size_classes.h"

namespace hk {

constexpr unsigned kSsShift = 21;
constexpr size_t kSsSize = size_t(1) << kSsShift;  // 2 MiB
// 32 KiB slabs: every thread keeps a partly used slab per size class it
// uses, so the slab size sets the floor of the footprint. Against 64 KiB
// slabs (measured, peak RSS): larson 4 threads 12.3 -> 10.3 MB,
// producer_consumer 3.3 -> 2.8 MB, fill_free_all 15.4 -> 13.8 MB, at 0.8%
// more instructions on random_mixed 16..1040. Classes above 16 KiB take
// two-page slabs (size_classes.h).
constexpr unsigned kSlabShift = 15;
constexpr size_t kSlabSize = size_t(1) << kSlabShift;  // 32 KiB: a page, the smallest slab
static_assert(kSlabSize == kPageSize, "size_classes.h counts slab pages of this size");
constexpr unsigned kSlabsPerSs = unsigned(kSsSize / kSlabSize);
constexpr uint64_t kDataSlabMask = ~uint64_t(1);  // page 0 holds the header
constexpr uint64_t kSsMagic = 0x62616c5370755348ull;  // "HSupSlab"

struct ThreadHeap;

// The owner of a slab nobody owns (free in the pool, or orphaned). Not null:
// a thread without a heap has a null t_tc.heap and must never match.
inline ThreadHeap* const kUnowned = reinterpret_cast<ThreadHeap*>(uintptr_t(2));

enum SlabState : uint8_t { kSlabFree = 0, kSlabActive = 1, kSlabOrphan = 2 };
// Which list of its owner (or of the pool) a slab sits on.
enum SlabList : uint8_t { kOnNone = 0, kOnPartial = 1, kOnFull = 2, kOnOrphans = 3 };

struct alignas(64) Slab {
  std::atomic<ThreadHeap*> owner;
  uint32_t bsize;
  // The slab's bytes - 1 (it is aligned to its size): p & off_mask is p's
  // offset in its slab, from any of the slab's pages.
  uint32_t off_mask;
  uint8_t cls;
  uint8_t state;  // SlabState
  uint8_t list;   // SlabList
  uint8_t idx;    // index of this page in the SuperSlab
  // Byte offset of the class's Bin in a ThreadCache: the free fast path
  // adds it to the cache's address instead of scaling cls.
  uint16_t bin_offset;
  uint16_t capacity;  // blocks; at most kSlabSize / 16
  uint32_t used;
  uint32_t carved;  // blocks cut from the slab so far (the rest was never touched)
  void* freelist;
  Slab* prev;
  Slab* next;
  // 1 + (2^64 - 1) / bsize: an offset o < 2^32 is a multiple of bsize exactly
  // when o * start_magic (mod 2^64) < start_magic (Lemire, Kaser and Kurz,
  // "Faster remainder by direct computation"). One multiply and one compare
  // tell the free fast path whether p starts a block.
  uint64_t start_magic;
};
static_assert(sizeof(Slab) == 64, "slab metadata is one cache line");

enum SsWhere : uint8_t { kSsNowhere = 0, kSsPartial = 1, kSsLru = 2 };

struct SuperSlab {
  uint64_t magic;
  uint32_t active;     // slabs owned or orphaned
  uint64_t free_mask;  // bit i: page i is in the shared pool
  // Free pages that may still be resident (purge.h), by generation: freed
  // since the last purge pass, and freed before it. Both are subsets of
  // free_mask; the LRU purges a whole SuperSlab by lru_age instead.
  uint64_t free_new, free_aged;
  // Pages a slab has held since the SuperSlab was mapped or last purged:
  // the others were never faulted in, and a slab there raises the RSS.
  uint64_t touched;
  SuperSlab* prev;
  SuperSlab* next;
  uint8_t where;    // SsWhere
  uint8_t lru_age;  // PurgeAge while in the LRU
  Slab slabs[kSlabsPerSs];
};
static_assert(sizeof(SuperSlab) <= kSlabSize, "header fits in slab 0");

inline SuperSlab* ss_of(const void* p) {
  return reinterpret_cast<SuperSlab*>(reinterpret_cast<uintptr_t>(p) & ~(kSsSize - 1));
}
// One shift and one mask give the slab's metadata offset (index * 64): the
// free fast path computes one pointer, not a base and an index.
inline Slab* slab_of(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  constexpr unsigned kLog = 6;
  static_assert(sizeof(Slab) == size_t(1) << kLog);
  return reinterpret_cast<Slab*>((a & ~(kSsSize - 1)) + offsetof(SuperSlab, slabs) +
                                 ((a >> (kSlabShift - kLog)) & ((kSlabsPerSs - 1) << kLog)));
}
// The slab a page's metadata belongs to (the metadata of its first page).
// A free page (no class) is its own.
inline Slab* slab_head(Slab* s) {
  if (s->cls >= kNumClasses) return s;
  const unsigned first = s->idx & ~(unsigned(kClasses.pages[s->cls]) - 1);
  return s - (s->idx - first);
}
inline const Slab* slab_head(const Slab* s) { return slab_head(const_cast<Slab*>(s)); }
inline char* slab_base(const Slab* s) {
  return reinterpret_cast<char*>(ss_of(s)) + size_t(s->idx) * kSlabSize;
}
constexpr uint64_t block_start_magic(uint32_t bsize) { return 1 + ~uint64_t(0) / bsize; }
// True if p is exactly a block start of the slab of page s (its offset in
// the slab is a multiple of the block size).
inline bool is_block_start(const Slab* s, const void* p) {
  const uint64_t off = reinterpret_cast<uintptr_t>(p) & s->off_mask;
  return off * s->start_magic < s->start_magic;
}
// True if p starts a block that slab s (its head) has carved, that is
// handed out at some time: an address past them was never a block.
inline bool is_carved_block(const Slab* s, const void* p) {
  const uint64_t off = reinterpret_cast<uintptr_t>(p) & s->off_mask;
  return is_block_start(s, p) && off < uint64_t(s->carved) * s->bsize;
}

// Maps a new SuperSlab (aligned, registered) and logs SS_MAP; nullptr when
// the OS refuses. Unmaps one and logs SS_UNMAP with the reason. Both are
// slow paths called with g_pool_lock held (the placement hint is shared).
SuperSlab* superslab_map();
void superslab_unmap(SuperSlab* ss, hk_ss_reason reason);

}  // namespace hk
