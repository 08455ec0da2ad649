#include "shared_pool.h"

#include "config.h"
#include "event_ring.h"
#include "line_writer.h"
#include "os_memory.h"
#include "registry.h"
#include "size_classes.h"
#include "stats.h"

namespace hk {

Mutex g_pool_lock;

namespace {

// All below: guarded by g_pool_lock.
SuperSlab* g_partial_ss;  // SuperSlabs with both active and free slabs
SuperSlab* g_lru_head;    // most recently pushed
SuperSlab* g_lru_tail;    // next to evict
uint32_t g_lru_len;
char* g_next_hint;        // where the next SuperSlab would land aligned
Slab* g_orphans[kNumClasses];

uint64_t addr(const void* p) { return uint64_t(reinterpret_cast<uintptr_t>(p)); }

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

void lru_remove(SuperSlab* ss) {
  if (ss->prev) ss->prev->next = ss->next;
  else g_lru_head = ss->next;
  if (ss->next) ss->next->prev = ss->prev;
  else g_lru_tail = ss->prev;
  ss->prev = ss->next = nullptr;
  ss->where = kSsNowhere;
  --g_lru_len;
  g_stats.lru_len.store(g_lru_len, std::memory_order_relaxed);
}

// One syscall when the slot just below the previous SuperSlab is free (the
// kernel hands out addresses top-down), else map twice the size and trim.
SuperSlab* ss_map_new() {
  char* p = nullptr;
  if (g_next_hint) p = static_cast<char*>(os_map_at(g_next_hint, kSsSize, HK_OS_SUPERSLAB));
  if (!p) {
    const size_t len = 2 * kSsSize;
    char* raw = static_cast<char*>(os_map(len, HK_OS_SUPERSLAB));
    if (!raw) return nullptr;
    p = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(raw) + kSsSize - 1) & ~(kSsSize - 1));
    if (p > raw) os_unmap(raw, size_t(p - raw), HK_OS_ALIGN_TRIM);
    if (raw + len > p + kSsSize) os_unmap(p + kSsSize, size_t(raw + len - (p + kSsSize)), HK_OS_ALIGN_TRIM);
  }
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  g_next_hint = a > 2 * kSsSize ? p - kSsSize : nullptr;
  if ((a >> kSsShift) >= kRegEntries) {
    // Outside the registry's reach (only with 5-level paging hints): unusable.
    os_unmap(p, kSsSize, HK_OS_SUPERSLAB);
    return nullptr;
  }
  auto* ss = reinterpret_cast<SuperSlab*>(p);
  ss->magic = kSsMagic;
  ss->free_mask = kDataSlabMask;
  for (unsigned i = 0; i < kSlabsPerSs; ++i) {
    ss->slabs[i].idx = uint8_t(i);
    ss->slabs[i].cls = uint8_t(HK_CLASS_NONE);
    ss->slabs[i].owner.store(kUnowned, std::memory_order_relaxed);
  }
  registry_set_superslab(ss, true);
  bump(g_stats.ss_maps);
  bump(g_stats.ss_mapped);
  emit(HK_EV_SS_MAP, HK_CLASS_NONE, HK_SS_NEW, a, kSsSize, g_stats.ss_mapped.load());
  return ss;
}

void ss_unmap(SuperSlab* ss, hk_ss_reason reason) {
  registry_set_superslab(ss, false);
  drop(g_stats.ss_mapped);
  bump(g_stats.ss_unmaps);
  os_unmap(ss, kSsSize, HK_OS_SUPERSLAB);
  emit(HK_EV_SS_UNMAP, HK_CLASS_NONE, uint8_t(reason), addr(ss), kSsSize,
       g_stats.ss_mapped.load());
}

// The seed's superslab_free(): a SuperSlab with no active slabs goes to the
// LRU instead of back to the kernel.
void ss_free(SuperSlab* ss) {
  if (g_cfg.free_debug)
    Line().s("[SS_FREE] ss=").p(ss).s(g_cfg.lru_cap ? " -> lru" : " -> munmap (lru cap 0)").end();
  if (g_cfg.lru_cap == 0) {
    ss_unmap(ss, HK_SS_LRU_OFF);
    return;
  }
  if (g_lru_len >= g_cfg.lru_cap) {
    SuperSlab* victim = g_lru_tail;
    lru_remove(victim);
    bump(g_stats.lru_evictions);
    if (g_cfg.lru_debug)
      Line().s("[LRU_EVICT] ss=").p(victim).s(" cache=").u(g_lru_len).s("/").u(g_cfg.lru_cap).end();
    emit(HK_EV_LRU_EVICT, HK_CLASS_NONE, 0, addr(victim), kSsSize, g_lru_len, g_cfg.lru_cap);
    ss_unmap(victim, HK_SS_EVICT);
  }
  ss->prev = nullptr;
  ss->next = g_lru_head;
  if (g_lru_head) g_lru_head->prev = ss;
  else g_lru_tail = ss;
  g_lru_head = ss;
  ss->where = kSsLru;
  ++g_lru_len;
  g_stats.lru_len.store(g_lru_len, std::memory_order_relaxed);
  bump(g_stats.lru_pushes);
  if (g_cfg.lru_debug)
    Line().s("[LRU_PUSH] ss=").p(ss).s(" cache=").u(g_lru_len).s("/").u(g_cfg.lru_cap).end();
  emit(HK_EV_LRU_PUSH, HK_CLASS_NONE, 0, addr(ss), kSsSize, g_lru_len, g_cfg.lru_cap);
}

// The seed's hak_ss_lru_pop(): consulted before any new mmap.
SuperSlab* lru_pop(unsigned cls) {
  SuperSlab* ss = g_lru_head;
  if (!ss) {
    bump(g_stats.lru_pop_misses);
    if (g_cfg.lru_debug) Line().s("[LRU_POP] class=").u(cls).s(" (miss)").end();
    emit(HK_EV_LRU_POP_MISS, uint8_t(cls), 0, 0, kSsSize, 0, g_cfg.lru_cap);
    return nullptr;
  }
  lru_remove(ss);
  bump(g_stats.lru_pop_hits);
  if (g_cfg.lru_debug) Line().s("[LRU_POP] class=").u(cls).s(" (hit) ss=").p(ss).end();
  emit(HK_EV_LRU_POP_HIT, uint8_t(cls), 0, addr(ss), kSsSize, g_lru_len, g_cfg.lru_cap);
  return ss;
}

// A slab's used count reached 0: SLAB_EMPTY event, counters, and the
// seed's HAKMEM_SS_FREE_DEBUG line.
void note_slab_empty(const Slab* s) {
  bump(g_stats.slabs_emptied);
  drop(g_stats.slabs_nonempty);
  if (g_cfg.free_debug)
    Line().s("[SS_EMPTY] class=").u(s->cls).s(" slab=").p(slab_base(s)).s(" ss=").p(ss_of(s))
        .s(" idx=").u(s->idx).end();
  emit(HK_EV_SLAB_EMPTY, s->cls, 0, addr(slab_base(s)), kSlabSize, s->idx, s->capacity,
       ss_of(s)->active);
}

Slab* adopt_orphan_locked(ThreadHeap* h, unsigned cls) {
  int budget = 8;  // bounded scan: orphans without free blocks stay put
  for (Slab* s = g_orphans[cls]; s && budget--; s = s->next) {
    if (!s->freelist && s->carved == s->capacity) continue;
    list_remove(g_orphans[cls], s);
    s->list = kOnNone;
    s->state = kSlabActive;
    s->owner.store(h, std::memory_order_release);
    bump(g_stats.slabs_adopted);
    return s;
  }
  return nullptr;
}

void release_locked(Slab* s) {
  SuperSlab* ss = ss_of(s);
  const unsigned cls = s->cls;
  s->owner.store(kUnowned, std::memory_order_release);
  s->state = kSlabFree;
  s->cls = uint8_t(HK_CLASS_NONE);
  s->freelist = nullptr;
  const bool was_full = ss->free_mask == 0;
  ss->free_mask |= 1u << s->idx;
  --ss->active;
  bump(g_stats.slabs_released);
  emit(HK_EV_SLAB_RELEASE, uint8_t(cls), 0, addr(slab_base(s)), kSlabSize, s->idx,
       s->capacity, ss->active);
  if (ss->active == 0) {
    if (!was_full) list_remove(g_partial_ss, ss);
    ss->where = kSsNowhere;
    ss_free(ss);
  } else if (was_full) {
    list_push(g_partial_ss, ss);
    ss->where = kSsPartial;
  }
}

}  // namespace


Slab* pool_acquire_slab(ThreadHeap* h, unsigned cls) {
  Guard g(g_pool_lock);
  if (Slab* s = adopt_orphan_locked(h, cls)) return s;
  SuperSlab* ss = g_partial_ss;
  if (!ss) {
    ss = lru_pop(cls);
    if (!ss) ss = ss_map_new();
    if (!ss) return nullptr;
    list_push(g_partial_ss, ss);
    ss->where = kSsPartial;
  }
  const unsigned idx = unsigned(__builtin_ctz(ss->free_mask));
  ss->free_mask &= ~(1u << idx);
  ++ss->active;
  if (ss->free_mask == 0) {
    list_remove(g_partial_ss, ss);
    ss->where = kSsNowhere;
  }
  Slab* s = &ss->slabs[idx];
  s->cls = uint8_t(cls);
  s->bsize = kClasses.size[cls];
  s->recip = kClasses.recip[cls];
  s->start_magic = block_start_magic(s->bsize);
  s->capacity = uint32_t(kSlabSize / s->bsize);
  s->used = 0;
  s->carved = 0;
  s->freelist = nullptr;
  s->list = kOnNone;
  s->prev = s->next = nullptr;
  s->state = kSlabActive;
  s->owner.store(h, std::memory_order_release);
  bump(g_stats.slabs_acquired);
  emit(HK_EV_SLAB_ACQUIRE, uint8_t(cls), 0, addr(slab_base(s)), kSlabSize, idx, s->capacity,
       ss->active);
  return s;
}

void pool_slab_emptied(Slab* s) {
  note_slab_empty(s);
  Guard g(g_pool_lock);
  release_locked(s);
}

void pool_orphan_slab(Slab* s) {
  Guard g(g_pool_lock);
  s->state = kSlabOrphan;
  s->owner.store(kUnowned, std::memory_order_release);
  list_push(g_orphans[s->cls], s);
  s->list = kOnOrphans;
}

bool pool_free_unowned(Slab* s, void* p) {
  Guard g(g_pool_lock);
  if (s->owner.load(std::memory_order_acquire) != kUnowned) return false;
  if (s->state != kSlabOrphan) fatal("free(): invalid pointer or double free of", p);
  const uint32_t idx = block_index(s, p);
  if (idx >= s->carved || s->used == 0) fatal("free(): invalid pointer or double free of", p);
  *static_cast<void**>(p) = s->freelist;
  s->freelist = p;
  drop(g_stats.class_used[s->cls]);
  if (--s->used == 0) {
    note_slab_empty(s);
    list_remove(g_orphans[s->cls], s);
    s->list = kOnNone;
    release_locked(s);
  }
  return true;
}

size_t pool_trim() {
  Guard g(g_pool_lock);
  size_t bytes = 0;
  while (SuperSlab* ss = g_lru_tail) {
    lru_remove(ss);
    ss_unmap(ss, HK_SS_TRIM);
    bytes += kSsSize;
  }
  return bytes;
}

}  // namespace hk
