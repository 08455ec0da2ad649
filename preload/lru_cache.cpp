#include "lru_cache.h"

#include "config.h"
#include "event_ring.h"
#include "line_writer.h"
#include "purge.h"
#include "stats.h"

namespace hk {

namespace {

// Guarded by g_pool_lock.
SuperSlab* g_lru_head;  // most recently pushed
SuperSlab* g_lru_tail;  // next to evict
uint32_t g_lru_len;


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

}  // namespace

// A full cache evicts (and unmaps) its least recently pushed entry first:
// eviction is what gives memory back.
void lru_push(SuperSlab* ss) {
  if (g_lru_len >= g_cfg.lru_cap) {
    SuperSlab* victim = g_lru_tail;
    lru_remove(victim);
    bump(g_stats.lru_evictions);
    if (g_cfg.lru_debug)
      Line().s("[LRU_EVICT] ss=").p(victim).s(" cache=").u(g_lru_len).s("/").u(g_cfg.lru_cap).end();
    emit(HK_EV_LRU_EVICT, HK_CLASS_NONE, 0, addr(victim), kSsSize, g_lru_len, g_cfg.lru_cap);
    superslab_unmap(victim, HK_SS_EVICT);
  }
  ss->prev = nullptr;
  ss->next = g_lru_head;
  if (g_lru_head) g_lru_head->prev = ss;
  else g_lru_tail = ss;
  g_lru_head = ss;
  ss->where = kSsLru;
  ss->lru_age = kPurgeNew;
  ss->free_new = ss->free_aged = 0;
  purge_arm();
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

void lru_purge_pass() {
  for (SuperSlab* ss = g_lru_head; ss; ss = ss->next) {
    if (ss->lru_age == kPurgeAged) {
      purge_range(reinterpret_cast<char*>(ss) + kSlabSize, kSsSize - kSlabSize);
      ss->touched = 0;
    }
    if (ss->lru_age != kPurgeDone) ++ss->lru_age;
  }
}

size_t lru_trim() {
  size_t bytes = 0;
  while (SuperSlab* ss = g_lru_tail) {
    lru_remove(ss);
    superslab_unmap(ss, HK_SS_TRIM);
    bytes += kSsSize;
  }
  return bytes;
}

}  // namespace hk
