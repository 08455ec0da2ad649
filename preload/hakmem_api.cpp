// hakmem's own exported extras (include/hakmem/hakmem.h).
#include <hakmem/hakmem.h>

#include <string.h>

#include "api_core.h"
#include "config.h"
#include "large_alloc.h"
#include "registry.h"
#include "stats.h"
#include "thread_heap.h"

#define HK_API extern "C" __attribute__((visibility("default")))

static_assert(hk::kNumClasses <= HAKMEM_MAX_CLASSES, "public class table too small");

HK_API int hakmem_owns(const void* p) { return hk::owns_live(p); }

HK_API void hakmem_drain_now(void) {
  hk::drain_current_thread(HK_DRAIN_TRIM);
  hk::collect_global_inbox();
}

HK_API void hakmem_get_stats(struct hakmem_stats* out) {
  using namespace hk;
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  memset(out, 0, sizeof(*out));
  const Counters& s = g_stats;
  out->num_classes = kNumClasses;
  out->drain_interval = g_cfg.drain_interval;
  out->lru_cap = g_cfg.lru_cap;
  out->large_cache_cap = g_cfg.large_cache_cap;
  out->superslab_size = kSsSize;
  out->slab_size = kSlabSize;
  out->ss_maps = get(s.ss_maps);
  out->ss_unmaps = get(s.ss_unmaps);
  out->ss_mapped = get(s.ss_mapped);
  out->lru_pushes = get(s.lru_pushes);
  out->lru_pop_hits = get(s.lru_pop_hits);
  out->lru_pop_misses = get(s.lru_pop_misses);
  out->lru_evictions = get(s.lru_evictions);
  out->lru_len = get(s.lru_len);
  out->slabs_acquired = get(s.slabs_acquired);
  out->slabs_released = get(s.slabs_released);
  out->slabs_emptied = get(s.slabs_emptied);
  out->slabs_adopted = get(s.slabs_adopted);
  out->slabs_nonempty = get(s.slabs_nonempty);
  out->drains = get(s.drains);
  out->overflow_flushes = get(s.overflow_flushes);
  out->blocks_drained = get(s.blocks_drained);
  out->blocks_spilled = get(s.blocks_spilled);
  out->remote_frees = get(s.remote_frees);
  out->remote_batches = get(s.remote_batches);
  out->remote_blocks_collected = get(s.remote_blocks_collected);
  out->large_maps = get(s.large_maps);
  out->large_unmaps = get(s.large_unmaps);
  out->large_reuses = get(s.large_reuses);
  out->large_cached_bytes = get(s.large_cached_bytes);
  out->os_mmaps = get(s.os_mmaps);
  out->os_munmaps = get(s.os_munmaps);
  out->os_madvises = get(s.os_madvises);
  out->purge_delay_ms = g_cfg.purge_delay_ms;
  out->purge_passes = get(s.purge_passes);
  out->purged_bytes = get(s.purged_bytes);
  out->mapped_bytes = get(s.mapped_bytes);
  out->peak_mapped_bytes = get(s.peak_mapped_bytes);
  out->threads_alive = get(s.threads_alive);
  out->threads_started = get(s.threads_started);
  uint64_t parked[kNumClasses], capacity[kNumClasses];
  parked_by_class(parked, capacity);
  for (unsigned c = 0; c < kNumClasses; ++c) {
    hakmem_class_stats& cs = out->classes[c];
    cs.block_size = class_size(c);
    cs.used = get(s.class_used[c]);
    cs.parked = parked[c];
    cs.cache_capacity = capacity[c];
    out->blocks_used += cs.used;
    out->blocks_parked += cs.parked;
  }
}

HK_API int hakmem_inspect(const void* p, struct hakmem_block_info* out) {
  using namespace hk;
  memset(out, 0, sizeof(*out));
  const uint8_t kind = registry_kind(p);
  if (kind == kRegSuperSlab) {
    const Slab* s = slab_head(slab_of(p));
    const SuperSlab* ss = ss_of(p);
    out->kind = HAKMEM_SMALL;
    out->slab_state = s->state;
    out->superslab_in_lru = ss->where == kSsLru;
    out->size_class = s->cls;
    out->block_size = s->state == kSlabFree ? 0 : s->bsize;
    out->slab_used = s->used;
    out->superslab = reinterpret_cast<uintptr_t>(ss);
    out->slab = reinterpret_cast<uintptr_t>(slab_base(s));
  } else if (kind && large_usable(p)) {
    out->kind = HAKMEM_LARGE;
    out->block_size = large_usable(p);
  }
  return out->kind;
}
