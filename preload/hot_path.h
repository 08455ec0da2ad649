// The allocator's fast paths: small malloc and free, on one screen.
//
// Contract: called by the exported malloc/free family on any thread. No
// lock, no atomic read-modify-write, no syscall, no event: a table lookup,
// a TLS SLL pop and its double-free check for malloc; a registry lookup, an
// owner check, a push and the drain tick (one add, one compare) for free.
// Every miss, and every check that fails, leaves for a slow path in
// thread_heap.h.
//
// A double free is caught at the pop, not in free(): free() would have to
// read the freed block, which is cold when a program frees what it filled
// long ago, and that read was most of free's time in fill_free_all (perf).
// Every parked block carries g_free_key in its second word and the pop
// clears it, so a block freed twice (two SLL entries, or an SLL entry and a
// slab freelist entry) fails the check the second time it would be handed
// out: never to two owners at once (thread_heap.h).
//
// Both paths take the thread cache's address once (this_cache()) and reach
// every field through it. Named TLS accesses would be shorter to write, but
// the compiler re-reads the thread pointer around each relaxed atomic.
#pragma once

#include <stddef.h>

#include "registry.h"
#include "size_classes.h"
#include "superslab.h"
#include "thread_heap.h"

namespace hk {

void* alloc_slow(size_t size);  // api_core.cpp: large sizes, errors
void free_slow(void* p);        // api_core.cpp: null, large, invalid

// The calling thread's cache, its address computed once. The empty asm hides
// where the pointer came from, so the compiler keeps it in a register
// instead of rebuilding it from %fs for every access.
inline ThreadCache* this_cache() {
  ThreadCache* tc = &t_tc;
  asm("" : "+r"(tc));
  return tc;
}

inline void* pop_or_refill(unsigned cls) {
  ThreadCache* tc = this_cache();
  Bin* b = &tc->bins[cls];
  const uint32_t n = b->count.load(std::memory_order_relaxed);
  if (__builtin_expect(n == 0, 0)) return refill_and_alloc(cls);
  uintptr_t* word = static_cast<uintptr_t*>(b->head);
  if (__builtin_expect(word[1] != tc->free_key, 0)) double_free(word);
  b->pops = uint16_t(b->pops + 1);  // for the drain's idle count
  void* next = reinterpret_cast<void*>(word[0]);
  b->head = next;
  // The next pop of this class reads the next block, which went cold since
  // it was freed; fetching it now overlaps that miss with the program's
  // work instead of making each pop wait for the last one's.
  __builtin_prefetch(next, 1, 3);
  b->count.store(uint16_t(n - 1), std::memory_order_relaxed);
  word[1] = 0;  // no longer parked: clear the double-free key
  return word;
}

inline void* alloc(size_t size) {
  if (__builtin_expect(size <= kMaxSmall, 1)) return pop_or_refill(size_to_class(size));
  return alloc_slow(size);
}

// Pushes p (a block of slab s, owned by this thread) onto its SLL. Every
// slow path is a tail call, so the fast path needs no stack frame.
inline void push_local(ThreadCache* tc, void* p, Slab* s) {
  uintptr_t* word = static_cast<uintptr_t*>(p);
  Bin* b = reinterpret_cast<Bin*>(reinterpret_cast<char*>(tc) + s->bin_offset);
  const uint32_t n = b->count.load(std::memory_order_relaxed);
  if (__builtin_expect(n >= b->cap, 0)) return free_overflow(p, s);
  word[0] = reinterpret_cast<uintptr_t>(b->head);
  word[1] = tc->free_key;
  b->head = p;
  b->count.store(uint16_t(n + 1), std::memory_order_relaxed);
  if (__builtin_expect(--tc->tick_left == 0, 0)) return drain_tick();
}

inline void free(void* p) {
  if (__builtin_expect(registry_kind(p) != kRegSuperSlab, 0)) return free_slow(p);
  Slab* s = slab_of(p);
  ThreadCache* tc = this_cache();
  if (__builtin_expect(s->owner.load(std::memory_order_relaxed) != tc->heap, 0))
    return free_not_owned(p, s);
  if (__builtin_expect(!is_block_start(s, p), 0)) return invalid_free(p);
  push_local(tc, p, s);
}

}  // namespace hk
