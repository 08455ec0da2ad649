// Thread heaps: the TLS SLL per size class and everything behind it.
//
// Contract: each thread gets a ThreadCache in initial-exec TLS (its bins: the
// TLS SLL per class with a bounded capacity, and the drain tick) and, on its
// first slow path, a ThreadHeap (the slabs it owns, its spill lists, and the
// inbox where other threads leave blocks they freed into its slabs). The fast
// paths (hot_path.h) touch only the ThreadCache. Everything declared here is
// a slow path, called by the owning thread, except where noted.
//
// Accounting, in the seed's terms: a slab's `used` counts blocks handed out
// of it, whether live in the program or parked in the owner's SLL or spill
// list. A drain returns parked blocks to their slabs, so `used` falls, a slab
// at 0 is emptied and released to the shared pool, and a SuperSlab without
// active slabs reaches the LRU. With HAKMEM_TLS_SLL_DRAIN_INTERVAL=0 the
// SLL's overflow goes to the spill list instead (the seed's "drains to
// tls_list, NOT back to slabs"), so `used` never reaches 0: the Phase 9 bug,
// reproduced on purpose. Thread exit always returns everything.
#pragma once

#include <stdint.h>

#include <atomic>

#include <hakmem/events.h>

#include "size_classes.h"
#include "superslab.h"

namespace hk {

// One TLS SLL. count is atomic only so that snapshots on other threads may
// read it; the owner updates it with a plain load and store (no RMW).
// The periodic drain returns the SLL's idle blocks: the bottom `start -
// pops` of them, which were there at the last drain (start) and which no
// pop since (pops) can have reached, pops taking from the top. The alloc
// fast path only bumps pops: one instruction, where a low-water mark took
// four; and this bound, lower than the low-water mark, returns fewer blocks
// that are needed again at once (random_mixed 16..1040: 615K blocks drained
// per 20M operations with the low-water mark, 45K with this, 3.5% less
// time). All counts are 16 bits (cap is at most 4096), so that the free fast
// path compares count with cap straight from memory; pops may wrap, which
// at worst returns blocks that were in use (correct, just not idle).
struct Bin {
  void* head;
  std::atomic<uint16_t> count;
  uint16_t cap;  // 0 until the thread has a heap: every free misses
  uint16_t pops;
  uint16_t start;
};
static_assert(sizeof(Bin) == 16, "four bins per cache line");

struct ThreadCache {
  Bin bins[kNumClasses];
  // Frees left until the next drain: the fast path's tick counts down and
  // calls drain_tick() at 0. Zero until the thread has a heap (its frees
  // miss the owner check before they reach the tick).
  uint32_t tick_left;
  uint32_t tick_limit;  // the drain interval (UINT32_MAX when off)
  ThreadHeap* heap;     // kNoHeap, kDeadHeap or this thread's heap
  // g_free_key, copied when the heap attaches: the free fast path reads it
  // at an offset from the cache's address it already holds.
  uintptr_t free_key;
};

// Frees since the last drain tick.
inline uint32_t ticks_elapsed(const ThreadCache& tc) { return tc.tick_limit - tc.tick_left; }

// t_tc.heap before the thread's first slow path (zeroed TLS) and after its
// exit flush. Neither is ever a slab's owner (see kUnowned in superslab.h),
// so the free fast path's owner check fails for both.
constexpr ThreadHeap* kNoHeap = nullptr;
inline ThreadHeap* const kDeadHeap = reinterpret_cast<ThreadHeap*>(uintptr_t(1));

extern constinit thread_local ThreadCache t_tc __attribute__((tls_model("initial-exec")));

// The malloc fast path found cls's SLL empty: refill it (attaching a heap
// on the thread's first call) and return one block, or nullptr with ENOMEM.
void* refill_and_alloc(unsigned cls);

// Free slow paths, for a block p of slab s (registry says SuperSlab).
void free_overflow(void* p, Slab* s);  // owner is this thread, its SLL is full
void drain_tick();                     // the drain interval elapsed
void free_not_owned(void* p, Slab* s); // another thread (or nobody) owns s
[[noreturn]] void invalid_free(const void* p);
[[noreturn]] void double_free(const void* p);

// Every free block a thread cache can hand out carries g_free_key in its
// second word (every class is at least 16 bytes): free's push, the carve
// and every return to a slab's freelist write it, and malloc checks and
// clears it. A block that lacks it when popped was handed out already since
// it was parked: it was freed twice, and the pop aborts (double_free) before
// a second owner gets it. Random per process, never 0.
extern uintptr_t g_free_key;
void init_free_key();

// Links free block p in front of `next` on a freelist it may be handed out
// from, with the key.
inline void link_free(void* p, const void* next) {
  static_cast<uintptr_t*>(p)[0] = reinterpret_cast<uintptr_t>(next);
  static_cast<uintptr_t*>(p)[1] = g_free_key;
}
// The pop's check, for the slow paths that hand a block out directly.
inline void expect_parked(const void* p) {
  if (static_cast<const uintptr_t*>(p)[1] != g_free_key) double_free(p);
}

// Returns every block this thread parks (SLL and spill) to its slabs and
// collects remote frees. No-op on a thread without a heap.
void drain_current_thread(hk_drain_reason reason);
// Logs the calling thread's event backlog (at process exit: its next drain
// would have logged it).
void log_event_backlog();
// Blocks freed into the global heap (used by threads after their exit) wait
// in its inbox; collect them.
void collect_global_inbox();

// Any thread: blocks parked in all thread caches, per class, and the sum
// of those caches' capacities (read racily, under the heap-list lock).
void parked_by_class(uint64_t (&parked)[kNumClasses], uint64_t (&capacity)[kNumClasses]);
// Any thread: one HK_EV_SNAPSHOT per active class (only when a ring is open).
void emit_snapshots();

// True if p is in the calling thread's SLL or spill list for cls.
bool parked_by_current_thread(const void* p, unsigned cls);

// Lifecycle (lifecycle.cpp): key destructor and fork handlers.
void thread_exit_flush(void* heap);
void heaps_fork_prepare();
void heaps_fork_parent();
void heaps_fork_child();
void global_heap_init();

}  // namespace hk
