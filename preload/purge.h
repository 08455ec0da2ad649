// Delayed purge: the pages of memory hakmem keeps mapped for reuse (empty
// SuperSlabs in the LRU, free slabs of partly used SuperSlabs, freed large
// mappings in the large cache) go back to the kernel with
// madvise(MADV_DONTNEED) once they have sat unused for a while.
//
// Why a delay: keeping empty memory mapped is what spares a program the
// mmap/munmap churn of the seed (and the page faults after it); keeping it
// resident forever is what left a program that emptied its lists with tens
// of MB it no longer used. A purge right at free would turn every reuse
// into page faults again, so memory is purged only after it stayed unused
// through one whole period of HAKMEM_PURGE_DELAY_MS (and at most two).
//
// How: each cache ages its own entries in two generations, new -> aged ->
// purged. A pass, at most once per period, purges what was aged and ages
// what was new; memory reused in between is taken back in whatever state it
// is (purged pages are zero, which calloc uses). There is no thread: passes
// run from slow paths that already happen (the periodic drain, large
// alloc/free), so a program that stops calling malloc keeps what it had.
//
// Contract: purge_tick() from any thread holding no allocator lock; it takes
// the pool lock and the large lock in turn, never both. Each cache's
// *_purge_pass() runs under its own lock and makes one madvise per
// contiguous range it purges.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace hk {

// What an unused cache entry has been through (its purge generation).
enum PurgeAge : uint8_t { kPurgeNew = 0, kPurgeAged = 1, kPurgeDone = 2 };

// A cache gained unused memory: make sure passes run from now on.
void purge_arm();

// Gives [p, p+len) back to the kernel (one madvise; the pages read as zero
// afterwards). For the caches' passes, under the lock that owns the range.
void purge_range(void* p, size_t len);

// Runs a pass when one is due. Cheap when none is: one relaxed load, and a
// clock read once passes are armed.
void purge_tick();

}  // namespace hk
