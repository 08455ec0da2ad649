/* hakmem's own exported extras, beside the standard malloc family.
 *
 * Contract: callable from any thread of a process running libhakmem.so
 * (preloaded or linked). Tests use these to prove hakmem is the allocator in
 * use and to drive and observe its slab accounting deterministically. None of
 * them allocates. Counters are read racily: exact for a quiescent process.
 *
 * Plain C, so C programs and the C++ tests share it.
 */
#ifndef HAKMEM_HAKMEM_H
#define HAKMEM_HAKMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HAKMEM_MAX_CLASSES 64

struct hakmem_class_stats {
  uint64_t block_size;
  uint64_t used;   /* blocks counted used by this class's slabs */
  uint64_t parked; /* of those, blocks sitting in thread caches (SLL + spill) */
  uint64_t cache_capacity; /* what those caches may hold: their SLL capacities */
};

struct hakmem_stats {
  uint32_t num_classes;
  uint32_t reserved;
  /* configuration in effect */
  uint64_t drain_interval; /* HAKMEM_TLS_SLL_DRAIN_INTERVAL, 0 = drain off */
  uint64_t lru_cap;        /* HAKMEM_SS_LRU_CAP, SuperSlabs */
  uint64_t large_cache_cap;
  uint64_t superslab_size, slab_size;
  /* SuperSlabs and the LRU cache of empty ones */
  uint64_t ss_maps, ss_unmaps, ss_mapped;
  uint64_t lru_pushes, lru_pop_hits, lru_pop_misses, lru_evictions, lru_len;
  /* slabs and the shared pool */
  uint64_t slabs_acquired, slabs_released, slabs_emptied, slabs_adopted, slabs_nonempty;
  /* TLS SLL drains */
  uint64_t drains, overflow_flushes, blocks_drained, blocks_spilled;
  /* cross-thread frees */
  uint64_t remote_frees, remote_batches, remote_blocks_collected;
  /* large blocks */
  uint64_t large_maps, large_unmaps, large_reuses, large_cached_bytes;
  /* memory syscalls made by the allocator */
  uint64_t os_mmaps, os_munmaps, os_madvises, mapped_bytes, peak_mapped_bytes;
  /* delayed purge of cached memory (HAKMEM_PURGE_DELAY_MS, 0 = never) */
  uint64_t purge_delay_ms, purge_passes, purged_bytes;
  uint64_t threads_alive, threads_started;
  uint64_t blocks_used, blocks_parked; /* sums over classes */
  struct hakmem_class_stats classes[HAKMEM_MAX_CLASSES];
};

/* Where a pointer lives, as hakmem sees it (hakmem_inspect). */
enum hakmem_block_kind { HAKMEM_NOT_OURS = 0, HAKMEM_SMALL = 1, HAKMEM_LARGE = 2 };
enum hakmem_slab_state { HAKMEM_SLAB_FREE = 0, HAKMEM_SLAB_ACTIVE = 1, HAKMEM_SLAB_ORPHAN = 2 };

struct hakmem_block_info {
  int kind;             /* hakmem_block_kind */
  int slab_state;       /* small: hakmem_slab_state (FREE = back in the pool) */
  int superslab_in_lru; /* small: the SuperSlab sits in the LRU cache */
  uint32_t size_class;  /* small */
  uint64_t block_size;  /* usable bytes */
  uint64_t slab_used;   /* small: the slab's `used` count */
  uintptr_t superslab;  /* small: SuperSlab base */
  uintptr_t slab;       /* small: slab base */
};

/* 1 if p is a live block hakmem handed out, else 0. Blocks parked in
 * another thread's cache cannot be seen from here and still count as live. */
int hakmem_owns(const void* p);

void hakmem_get_stats(struct hakmem_stats* out);

/* Drains the calling thread's caches back to their slabs now (as the
 * periodic drain would), and collects frees other threads made into them. */
void hakmem_drain_now(void);

/* Fills *out for any address (freed ones included, while their SuperSlab is
 * still mapped) and returns out->kind. Never dereferences a foreign pointer. */
int hakmem_inspect(const void* p, struct hakmem_block_info* out);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_HAKMEM_H */
