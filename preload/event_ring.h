// Event ring writer: the allocator's side of the shared-memory event ring.
//
// Contract: the allocator calls hk::emit() from its slow paths only, on any
// thread. When no ring was asked for (HAKMEM_RING unset) emit() is one
// predictable branch on a global. When a ring is open, emit() is lock-free and
// never blocks or spins on the reader: a full ring drops (stream mode) or
// overwrites the oldest slot (flight mode), as ring_format.h describes.
// Nothing here allocates through malloc, uses stdio or throws.
//
// Lifecycle: ring_init() once from the allocator's init; ring_after_fork_child()
// from the pthread_atfork child handler (a child gets its own ring). A ring
// is opened at init from HAKMEM_RING, or later, from whichever thread emits
// first after `hakmem-analyze attach` asked for one through the attach
// point (attach_point.h): that thread opens it, with no lock taken and
// errno preserved, and events of other threads in that instant are lost.
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <hakmem/events.h>

#include "event_clock.h"

namespace hk {

// Nonzero while events are wanted: a ring is open, or an attacher asked for
// one (the next event opens it). The attacher stores it from another
// process, so it is one byte, which a remote store cannot tear; the
// allocator's slow paths test it before they gather an event's fields.
extern uint8_t g_ring;

// Reads HAKMEM_RING, HAKMEM_RING_SIZE and HAKMEM_RING_MODE and opens the
// ring. On any refusal prints one line to stderr (with write(2)) and leaves
// g_ring 0: the program keeps running without a ring. Then publishes the
// attach point.
void ring_init();

// In the child after fork: forget the parent's ring (without unmapping
// anything the parent still owns) and open the child's own.
void ring_after_fork_child(pid_t parent);

// The allocator's configuration, logged as HK_EV_CONFIG now (if a ring is
// open) and again as each later ring (a forked child's) opens.
void ring_set_config(uint64_t drain_interval, uint64_t lru_cap, uint64_t sll_cap,
                     uint64_t ss_size, uint64_t slab_size);

void ring_emit_slow(uint16_t type, uint8_t cls, uint8_t reason, uint64_t addr,
                    uint64_t len, uint64_t a, uint64_t b, uint64_t c);

// An address as an event field.
inline uint64_t addr(const void* p) { return uint64_t(reinterpret_cast<uintptr_t>(p)); }

inline void emit(uint16_t type, uint8_t cls = HK_CLASS_NONE, uint8_t reason = 0,
                 uint64_t addr = 0, uint64_t len = 0, uint64_t a = 0,
                 uint64_t b = 0, uint64_t c = 0) {
  if (__builtin_expect(__atomic_load_n(&g_ring, __ATOMIC_RELAXED) != 0, 0))
    ring_emit_slow(type, cls, reason, addr, len, a, b, c);
}

}  // namespace hk
