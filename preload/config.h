// The allocator's configuration, read once from the environment at init.
//
// Contract: config_load() runs in the allocator's init (any thread, the
// first to allocate) and uses getenv only, which does not allocate. After
// init the values are read-only; every thread may read them without a lock.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace hk {

struct Config {
  uint32_t drain_interval = 1024;  // HAKMEM_TLS_SLL_DRAIN_INTERVAL, 0 = off
  uint32_t lru_cap = 16;           // HAKMEM_SS_LRU_CAP, SuperSlabs; 0 = unmap at once
  size_t large_cache_cap = size_t(64) << 20;  // HAKMEM_LARGE_CACHE_CAP, bytes; 0 = off
  bool large_cache_adaptive = true;          // HAKMEM_LARGE_CACHE_ADAPTIVE: the cap grows to the peak of live large bytes; 0 = fixed
  uint32_t purge_delay_ms = 250;  // HAKMEM_PURGE_DELAY_MS: unused cached memory is purged after 1-2 of these; 0 = never
  bool stats = false;                         // HAKMEM_STATS
  bool lru_debug = false;                     // HAKMEM_SS_LRU_DEBUG
  bool free_debug = false;                    // HAKMEM_SS_FREE_DEBUG
  bool from_env = false;  // the environment was readable when the config loaded
};

extern Config g_cfg;

void config_load();

}  // namespace hk
