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

inline void free(void* p) {
  if (__builtin_expect(registry_kind(p) != kRegSuperSlab, 0)) return free_slow(p);
  Slab* s = slab_of(p);
  ThreadCache& tc = t_tc;
  if (__builtin_expect(s->owner.load(std::memory_order_relaxed) != tc.heap, 0))
    return free_not_owned(p, s);
  if (__builtin_expect(block_index(s, p) == UINT32_MAX, 0)) invalid_free(p);
  uintptr_t* word = static_cast<uintptr_t*>(p);
  if (__builtin_expect(word[1] == g_free_key, 0)) check_double_free(p, s);
  Bin& b = tc.bins[s->cls];
  const uint32_t n = b.count.load(std::memory_order_relaxed);
  if (__builtin_expect(n >= b.cap, 0)) return free_overflow(p, s);
  word[0] = reinterpret_cast<uintptr_t>(b.head);
  word[1] = g_free_key;
  b.head = p;
  b.count.store(n + 1, std::memory_order_relaxed);
  if (__builtin_expect(++tc.tick >= tc.tick_limit, 0)) drain_tick();
}

}  // namespace hk
