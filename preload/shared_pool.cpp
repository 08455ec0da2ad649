#include "shared_pool.h"

#include "config.h"
#include "event_ring.h"
#include "line_writer.h"
#include "lru_cache.h"
#include "os_memory.h"
#include "purge.h"
#include "registry.h"
#include "size_classes.h"
#include "stats.h"
#include "thread_heap.h"

namespace hk {

Mutex g_pool_lock;

namespace {

// All below: guarded by g_pool_lock.
SuperSlab* g_partial_ss;  // SuperSlabs with both active and free slabs
Slab* g_orphans[kNumClasses];

template <typename T>
void list_push(T*& head, T* n) {
  n->prev = nullptr;
  n->next = head;
  if (head) head->prev = n;
  head = n;
}
template <typename T>
void list_remove(T*& head, T* n) {
  if (n->prev) n->prev->next = n->next;
  else head = n->next;
  if (n->next) n->next->prev = n->prev;
  n->prev = n->next = nullptr;
}

// The seed's superslab_free(): a SuperSlab with no active slabs goes to the
// LRU instead of back to the kernel.
void ss_free(SuperSlab* ss) {
  if (g_cfg.free_debug)
    Line().s("[SS_FREE] ss=").p(ss).s(g_cfg.lru_cap ? " -> lru" : " -> munmap (lru cap 0)").end();
  if (g_cfg.lru_cap == 0)
    superslab_unmap(ss, HK_SS_LRU_OFF);
  else
    lru_push(ss);
}

// An empty slab goes back to the pool: counters and the seed's
// HAKMEM_SS_FREE_DEBUG line. The event is the SLAB_RELEASE that follows at
// once (reason HK_SLAB_RELEASE_EMPTIED): one record where there were two,
// which counted on workloads that cycle slabs (fill_free_all: 130K pairs).
// slabs_nonempty fell when `used` reached 0 (pool_free_unowned, or the
// owner before pool_slab_emptied).
void note_slab_empty(const Slab* s) {
  bump(g_stats.slabs_emptied);
  if (g_cfg.free_debug)
    Line().s("[SS_EMPTY] class=").u(s->cls).s(" slab=").p(slab_base(s)).s(" ss=").p(ss_of(s))
        .s(" idx=").u(s->idx).end();
}

// Every page of slab s (its head) gets the state and the owner: the free
// fast path reads the owner of whichever page a block starts in.
void mark_pages(Slab* s, SlabState state, ThreadHeap* owner) {
  for (unsigned i = kClasses.pages[s->cls]; i-- > 0;) {
    s[i].state = state;
    s[i].owner.store(owner, std::memory_order_release);
  }
}

// Bit i set: pages i .. i+n-1 are free and i is a multiple of n (a slab
// of n pages is aligned to its size).
uint64_t free_runs(uint64_t free_mask, unsigned n) {
  uint64_t runs = free_mask;
  for (unsigned w = 1; w < n; w *= 2) runs &= runs >> w;
  return runs & (~uint64_t(0) / ((uint64_t(1) << n) - 1));
}

Slab* adopt_orphan_locked(ThreadHeap* h, unsigned cls) {
  int budget = 8;  // bounded scan: orphans without free blocks stay put
  for (Slab* s = g_orphans[cls]; s && budget--; s = s->next) {
    if (!s->freelist && s->carved == s->capacity) continue;
    list_remove(g_orphans[cls], s);
    s->list = kOnNone;
    mark_pages(s, kSlabActive, h);
    bump(g_stats.slabs_adopted);
    return s;
  }
  return nullptr;
}

void release_locked(Slab* s) {
  SuperSlab* ss = ss_of(s);
  const unsigned cls = s->cls;
  const unsigned pages = kClasses.pages[cls];
  mark_pages(s, kSlabFree, kUnowned);
  for (unsigned i = 0; i < pages; ++i) s[i].cls = uint8_t(HK_CLASS_NONE);
  s->freelist = nullptr;
  const bool was_full = ss->free_mask == 0;
  const uint64_t freed = ((uint64_t(1) << pages) - 1) << s->idx;
  ss->free_mask |= freed;
  ss->free_new |= freed;
  --ss->active;
  bump(g_stats.slabs_released);
  emit(HK_EV_SLAB_RELEASE, uint8_t(cls), HK_SLAB_RELEASE_EMPTIED, addr(slab_base(s)),
       pages * kSlabSize, s->idx, s->capacity, ss->active);
  if (ss->active == 0) {
    if (!was_full) list_remove(g_partial_ss, ss);
    ss->where = kSsNowhere;
    ss_free(ss);
  } else {
    purge_arm();
    if (was_full) {
      list_push(g_partial_ss, ss);
      ss->where = kSsPartial;
    }
  }
}

// Purges each run of pages that stayed free through a whole period.
void purge_free_pages(SuperSlab* ss) {
  ss->touched &= ~ss->free_aged;
  for (uint64_t m = ss->free_aged; m;) {
    const unsigned first = unsigned(__builtin_ctzll(m));
    const uint64_t rest = ~(m >> first);
    const unsigned n = rest ? unsigned(__builtin_ctzll(rest)) : 64 - first;
    purge_range(reinterpret_cast<char*>(ss) + size_t(first) * kSlabSize, size_t(n) * kSlabSize);
    m &= n == 64 ? 0 : ~(((uint64_t(1) << n) - 1) << first);
  }
  ss->free_aged = ss->free_new;
  ss->free_new = 0;
}

}  // namespace


Slab* pool_acquire_slab(ThreadHeap* h, unsigned cls, bool may_grow) {
  Guard g(g_pool_lock);
  if (Slab* s = adopt_orphan_locked(h, cls)) return s;
  const unsigned pages = kClasses.pages[cls];
  // The first partly used SuperSlab with room for the slab (a bounded
  // look: one-page slabs fill the holes the others cannot use).
  // Without may_grow, only pages an earlier slab faulted in and no purge
  // gave back: others would raise the footprint.
  SuperSlab* ss = g_partial_ss;
  uint64_t runs = 0;
  for (int budget = 8; ss && budget-- > 0; ss = ss->next) {
    const uint64_t room = may_grow ? ss->free_mask : ss->free_mask & ss->touched;
    if ((runs = free_runs(room, pages)) != 0) break;
  }
  if (!runs) {
    if (!may_grow) return nullptr;
    ss = lru_pop(cls);
    // Its free pages are resident where touched, unless the LRU purged them.
    if (ss) ss->free_new = ss->free_mask & ss->touched;
    if (!ss) ss = superslab_map();
    if (!ss) return nullptr;
    list_push(g_partial_ss, ss);
    ss->where = kSsPartial;
    runs = free_runs(ss->free_mask, pages);
  }
  const unsigned idx = unsigned(__builtin_ctzll(runs));
  const uint64_t taken = ~(((uint64_t(1) << pages) - 1) << idx);
  ss->free_mask &= taken;
  ss->touched |= ~taken;
  ss->free_new &= taken;
  ss->free_aged &= taken;
  ++ss->active;
  if (ss->free_mask == 0) {
    list_remove(g_partial_ss, ss);
    ss->where = kSsNowhere;
  }
  Slab* s = &ss->slabs[idx];
  s->bsize = kClasses.size[cls];
  s->off_mask = uint32_t(pages * kSlabSize - 1);
  s->start_magic = block_start_magic(s->bsize);
  s->capacity = uint16_t(pages * kSlabSize / s->bsize);
  s->bin_offset = uint16_t(offsetof(ThreadCache, bins) + cls * sizeof(Bin));
  s->used = 0;
  s->carved = 0;
  s->freelist = nullptr;
  s->list = kOnNone;
  s->prev = s->next = nullptr;
  // The other pages mirror what free() reads from the page a block is in.
  for (unsigned i = 0; i < pages; ++i) {
    s[i].cls = uint8_t(cls);
    s[i].bsize = s->bsize;
    s[i].off_mask = s->off_mask;
    s[i].start_magic = s->start_magic;
    s[i].bin_offset = s->bin_offset;
  }
  mark_pages(s, kSlabActive, h);
  bump(g_stats.slabs_acquired);
  emit(HK_EV_SLAB_ACQUIRE, uint8_t(cls), 0, addr(slab_base(s)), pages * kSlabSize, idx,
       s->capacity, ss->active);
  return s;
}

void pool_slab_emptied(Slab* s) {
  note_slab_empty(s);
  Guard g(g_pool_lock);
  release_locked(s);
}

void pool_orphan_slab(Slab* s) {
  Guard g(g_pool_lock);
  mark_pages(s, kSlabOrphan, kUnowned);
  list_push(g_orphans[s->cls], s);
  s->list = kOnOrphans;
}

bool pool_free_unowned(Slab* page, void* p) {
  Guard g(g_pool_lock);
  if (page->owner.load(std::memory_order_acquire) != kUnowned) return false;
  Slab* s = slab_head(page);
  if (s->state != kSlabOrphan) fatal("free(): invalid pointer or double free of", p);
  if (!is_carved_block(s, p) || s->used == 0) fatal("free(): invalid pointer or double free of", p);
  link_free(p, s->freelist);
  s->freelist = p;
  drop(g_stats.class_used[s->cls]);
  if (--s->used == 0) {
    drop(g_stats.slabs_nonempty);
    note_slab_empty(s);
    list_remove(g_orphans[s->cls], s);
    s->list = kOnNone;
    release_locked(s);
  }
  return true;
}

void pool_purge_pass() {
  Guard g(g_pool_lock);
  for (SuperSlab* ss = g_partial_ss; ss; ss = ss->next) purge_free_pages(ss);
  lru_purge_pass();
}

size_t pool_trim() {
  Guard g(g_pool_lock);
  return lru_trim();
}

}  // namespace hk
