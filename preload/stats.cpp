#include "stats.h"

#include <unistd.h>

#include "config.h"
#include "line_writer.h"
#include "thread_heap.h"

namespace hk {

Counters g_stats;

namespace {
uint64_t get(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }
}  // namespace

void print_stats() {
  const Counters& s = g_stats;
  uint64_t per_class[kNumClasses], capacity[kNumClasses];
  parked_by_class(per_class, capacity);
  uint64_t used = 0, parked = 0;
  for (unsigned c = 0; c < kNumClasses; ++c) used += get(s.class_used[c]), parked += per_class[c];
  Line().s("[hakmem] pid=").u(uint64_t(getpid())).s(" config: drain_interval=").u(g_cfg.drain_interval)
      .s(" lru_cap=").u(g_cfg.lru_cap).s(" large_cache_cap=").u(g_cfg.large_cache_cap).end();
  Line().s("[hakmem] superslab: maps=").u(get(s.ss_maps)).s(" unmaps=").u(get(s.ss_unmaps))
      .s(" mapped_now=").u(get(s.ss_mapped)).end();
  Line().s("[hakmem] lru: pushes=").u(get(s.lru_pushes)).s(" pop_hits=").u(get(s.lru_pop_hits))
      .s(" pop_misses=").u(get(s.lru_pop_misses)).s(" evictions=").u(get(s.lru_evictions))
      .s(" cached_now=").u(get(s.lru_len)).end();
  Line().s("[hakmem] slabs: acquired=").u(get(s.slabs_acquired))
      .s(" released=").u(get(s.slabs_released)).s(" emptied=").u(get(s.slabs_emptied))
      .s(" adopted=").u(get(s.slabs_adopted)).end();
  Line().s("[hakmem] drain: drains=").u(get(s.drains)).s(" overflow_flushes=")
      .u(get(s.overflow_flushes)).s(" blocks_drained=").u(get(s.blocks_drained))
      .s(" blocks_spilled=").u(get(s.blocks_spilled)).end();
  Line().s("[hakmem] remote: frees=").u(get(s.remote_frees)).s(" batches=")
      .u(get(s.remote_batches)).s(" blocks_collected=").u(get(s.remote_blocks_collected)).end();
  Line().s("[hakmem] large: maps=").u(get(s.large_maps)).s(" unmaps=").u(get(s.large_unmaps))
      .s(" reuses=").u(get(s.large_reuses)).s(" cached_bytes=").u(get(s.large_cached_bytes)).end();
  Line().s("[hakmem] syscalls: mmap=").u(get(s.os_mmaps)).s(" munmap=").u(get(s.os_munmaps))
      .s(" madvise=").u(get(s.os_madvises)).s(" mmap+munmap=")
      .u(get(s.os_mmaps) + get(s.os_munmaps)).s(" peak_mapped_bytes=")
      .u(get(s.peak_mapped_bytes)).end();
  Line().s("[hakmem] purge: delay_ms=").u(g_cfg.purge_delay_ms).s(" passes=").u(get(s.purge_passes))
      .s(" purged_bytes=").u(get(s.purged_bytes)).end();
  Line().s("[hakmem] at exit: slabs_nonempty=").u(get(s.slabs_nonempty))
      .s(" blocks_used=").u(used).s(" blocks_parked_in_thread_caches=").u(parked)
      .s(" live_blocks=").u(used > parked ? used - parked : 0)
      .s(" threads_started=").u(get(s.threads_started)).end();
}

}  // namespace hk
