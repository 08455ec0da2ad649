// Large blocks: anything above the small classes, one mapping each.
//
// Contract: any thread, under the large lock (never on the small fast
// paths). Live blocks are found through a table keyed by the exact pointer
// handed out, so a free of anything else is recognised as invalid without
// touching it. Freed mappings go to a bounded cache (HAKMEM_LARGE_CACHE_CAP
// bytes, 0 disables) that later requests reuse, so a loop of big
// malloc/free makes no syscall per iteration.
#pragma once

#include <stddef.h>

namespace hk {

// size bytes at a multiple of align (a power of two). *fresh tells whether
// the memory comes straight from mmap (already zero). nullptr + ENOMEM.
void* large_alloc(size_t size, size_t align, bool* fresh);
// False if p is not a live large block.
bool large_free(void* p);
// Usable bytes of a live large block p, 0 if p is not one.
size_t large_usable(const void* p);
// Unmaps every cached mapping; returns the bytes given back.
size_t large_trim();
// Logs the reuses not logged yet (at exit).
void large_log_pending();

void large_fork_prepare();
void large_fork_parent();
void large_fork_child();

}  // namespace hk
