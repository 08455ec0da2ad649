// Large blocks: anything above the small classes, one mapping each.
//
// Contract: any thread, under the large lock (never on the small fast
// paths). Live blocks are found through a table keyed by the exact pointer
// handed out, so a free of anything else is recognised as invalid without
// touching it. Freed mappings go to a cache that later requests reuse, so
// a loop of big malloc/free makes no syscall per iteration. It holds up to
// the peak of live large bytes (at least HAKMEM_LARGE_CACHE_CAP, 0
// disables), and a miss first tries to extend the biggest cached range in
// place, so a working set of big buffers keeps its resident pages. malloc_usable_size of a
// block is its request's size class (1/8 of a power of two, page-rounded):
// a cached mapping more than a quarter bigger is split, never handed whole,
// so no big block's pages stay resident on a small block's account.
// Cached mappings are purged after the delay of purge.h.
#pragma once

#include <stddef.h>

namespace hk {

// size bytes at a multiple of align (a power of two). *fresh tells whether
// the memory comes straight from mmap (already zero). nullptr + ENOMEM.
void* large_alloc(size_t size, size_t align, bool* fresh);
// False if p is not a live large block.
bool large_free(void* p);
// Shrinks (or keeps) live large block p to fit size bytes, in place: the
// pages past size's class are cut off. False if p is not a live large block
// or size needs more than it has.
bool large_shrink(void* p, size_t size);
// Usable bytes of a live large block p, 0 if p is not one.
size_t large_usable(const void* p);
// One purge pass over the cache (purge.h): purges the aged, ages the new.
void large_purge_pass();
// Unmaps every cached mapping; returns the bytes given back.
size_t large_trim();
// Logs the reuses not logged yet (at exit).
void large_log_pending();

void large_fork_prepare();
void large_fork_parent();
void large_fork_child();

}  // namespace hk
