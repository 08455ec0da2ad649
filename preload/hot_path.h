// The allocator's fast paths: small malloc and free, on one screen.
//
// Contract: called by the exported malloc/free family on any thread. No
// lock, no atomic read-modify-write, no syscall, no event: a table lookup
// and a TLS SLL pop for malloc; a registry lookup, an owner check, a push and
// the drain tick (one add, one compare) for free. Every miss, and every
// check that fails, leaves for a slow path in thread_heap.h.
#pragma once

#include <stddef.h>

#include "registry.h"
#include "size_classes.h"
#include "superslab.h"
#include "thread_heap.h"

namespace hk {

void* alloc_slow(size_t size);  // api_core.cpp: medium classes, large, errors
void free_slow(void* p);        // api_core.cpp: null, large, invalid

inline void* pop_or_refill(unsigned cls) {
  Bin& b = t_tc.bins[cls];
  const uint32_t n = b.count.load(std::memory_order_relaxed);
  if (__builtin_expect(n > b.low, 1)) {
    uintptr_t* word = static_cast<uintptr_t*>(b.head);
    b.head = reinterpret_cast<void*>(word[0]);
    word[1] = 0;  // no longer parked: clear the double-free key
    b.count.store(n - 1, std::memory_order_relaxed);
    return word;
  }
  return refill_and_alloc(cls);
}

inline void* alloc(size_t size) {
  if (__builtin_expect(size <= kTableMax, 1)) return pop_or_refill(kClasses.by_16[(size + 15) >> 4]);
  return alloc_slow(size);
}

// The owner's free of p (a block of slab s). Every slow path is a tail call,
// so the fast path needs no stack frame.
inline void free_local(void* p, Slab* s) {
  ThreadCache& tc = t_tc;
  uintptr_t* word = static_cast<uintptr_t*>(p);
  Bin& b = tc.bins[s->cls];
  const uint32_t n = b.count.load(std::memory_order_relaxed);
  if (__builtin_expect(n >= b.cap, 0)) return free_overflow(p, s);
  word[0] = reinterpret_cast<uintptr_t>(b.head);
  word[1] = g_free_key;
  b.head = p;
  b.count.store(n + 1, std::memory_order_relaxed);
  if (__builtin_expect(++tc.tick >= tc.tick_limit, 0)) return drain_tick();
}

inline void free(void* p) {
  if (__builtin_expect(registry_kind(p) != kRegSuperSlab, 0)) return free_slow(p);
  Slab* s = slab_of(p);
  if (__builtin_expect(s->owner.load(std::memory_order_relaxed) != t_tc.heap, 0))
    return free_not_owned(p, s);
  if (__builtin_expect(block_index(s, p) == UINT32_MAX, 0)) return invalid_free(p);
  if (__builtin_expect(static_cast<uintptr_t*>(p)[1] == g_free_key, 0))
    return free_suspect(p, s);
  free_local(p, s);
}

}  // namespace hk
