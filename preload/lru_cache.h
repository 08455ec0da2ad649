// The LRU cache of empty SuperSlabs (the seed's Phase 9 cache).
//
// Contract: called by the shared pool with g_pool_lock held, from slow paths
// only. A SuperSlab whose slabs are all free is pushed here instead of being
// unmapped; the pool pops it before it maps a new one. At most
// HAKMEM_SS_LRU_CAP entries: a push into a full cache evicts and unmaps the
// least recently pushed one. Each operation logs its LRU_* event and, with
// HAKMEM_SS_LRU_DEBUG=1, its seed-style line.
#pragma once

#include <stddef.h>

#include "superslab.h"

namespace hk {

void lru_push(SuperSlab* ss);

// The seed's hak_ss_lru_pop(): the most recently pushed SuperSlab, or
// nullptr (a miss) when the cache is empty. cls is the class that asked.
SuperSlab* lru_pop(unsigned cls);

// One purge pass over the cache (purge.h): the data pages (all but the
// header page) of SuperSlabs cached through a whole period are purged.
void lru_purge_pass();

// Unmaps every cached SuperSlab (malloc_trim); returns the bytes given back.
size_t lru_trim();

}  // namespace hk
