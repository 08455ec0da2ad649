// Allocator counters: what HAKMEM_STATS prints and hakmem_get_stats() returns.
//
// Contract: bumped from slow paths only (relaxed atomic adds; the fast paths
// never touch them), read racily by anyone. print_stats() writes them to
// stderr with write(2); it takes the heaps lock to sum the thread caches.
#pragma once

#include <stdint.h>

#include <atomic>

#include "size_classes.h"

namespace hk {

struct Counters {
  std::atomic<uint64_t> ss_maps, ss_unmaps, ss_mapped;
  std::atomic<uint64_t> lru_pushes, lru_pop_hits, lru_pop_misses, lru_evictions, lru_len;
  std::atomic<uint64_t> slabs_acquired, slabs_released, slabs_emptied, slabs_adopted;
  std::atomic<uint64_t> slabs_nonempty;  // slabs with used > 0 right now
  std::atomic<uint64_t> drains, overflow_flushes, blocks_drained, blocks_spilled;
  std::atomic<uint64_t> remote_frees, remote_batches, remote_blocks_collected;
  std::atomic<uint64_t> large_maps, large_unmaps, large_reuses, large_cached_bytes;
  std::atomic<uint64_t> os_mmaps, os_munmaps, os_madvises;
  std::atomic<uint64_t> purge_passes, purged_bytes;  // purge.h
  std::atomic<uint64_t> mapped_bytes, peak_mapped_bytes;
  std::atomic<uint64_t> threads_alive, threads_started;
  std::atomic<uint64_t> class_used[kNumClasses];  // blocks counted used by the slabs
};

extern Counters g_stats;

inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}
inline void drop(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.fetch_sub(n, std::memory_order_relaxed);
}

void print_stats();

}  // namespace hk
