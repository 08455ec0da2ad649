// The shared pool of slabs, with the LRU cache of empty SuperSlabs
// (lru_cache.h) behind it.
//
// Contract: every function here takes the pool lock itself (the *_locked
// variants expect it held). A thread heap acquires a slab for a size class:
// first an orphaned slab of that class with free blocks (adoption), else a
// free slab of a partly used SuperSlab, else a SuperSlab popped from the LRU
// cache (hit), else a newly mapped one (miss). A slab whose `used` reached 0
// is released here; a SuperSlab left with no active slab is pushed onto the
// LRU (or unmapped when HAKMEM_SS_LRU_CAP is 0; a full LRU evicts, and
// munmaps, its least recently pushed entry).
#pragma once

#include <stddef.h>

#include "lock.h"
#include "superslab.h"

namespace hk {

extern Mutex g_pool_lock;

// A slab owned by h for class cls, removed from any pool list (list ==
// kOnNone). nullptr when the OS refuses memory, or, when !may_grow, when
// no mapped SuperSlab has room in pages that are resident already (an
// earlier slab's, not purged since).
Slab* pool_acquire_slab(ThreadHeap* h, unsigned cls, bool may_grow);

// The owner releases s, whose used count reached 0 (it has dropped
// slabs_nonempty then): one SLAB_RELEASE record, reason
// HK_SLAB_RELEASE_EMPTIED, stands for the emptying and the release.
void pool_slab_emptied(Slab* s);

// The owner is exiting with live blocks in s: nobody owns it until a thread
// adopts it; frees into it go through pool_free_unowned().
void pool_orphan_slab(Slab* s);

// Frees p, a block starting in page `page`, into its slab that has no owner
// (kUnowned). Returns false (doing nothing) when the slab has an owner by
// the time the lock is held: the caller re-routes.
// Aborts on a free into a slab that holds no blocks (invalid or double free).
bool pool_free_unowned(Slab* page, void* p);

// One purge pass (purge.h) over the free slabs of partly used SuperSlabs
// and over the LRU cache.
void pool_purge_pass();

// Unmaps every SuperSlab in the LRU cache; returns the bytes given back.
size_t pool_trim();

}  // namespace hk
