// Synthetic scenarios: the shapes of the seed's runs, built with
// synthetic.h, for unit tests and the report benchmark's generator.
//
// Contract: each function appends one whole recording's worth of records to
// the stream (flushing whenever `chunk` records are pending) and flushes at
// the end. Deterministic: the same arguments give the same records.
#pragma once

#include "synthetic.h"

namespace hk::synth {

inline constexpr uint64_t kSuperSlab = 1u << 20;
inline constexpr uint64_t kSlab = 64u << 10;
inline constexpr uint64_t kBase = 0x7f0000000000ull;

inline void maybe_flush(Stream& s, size_t chunk) {
  if (s.pending() >= chunk) s.flush();
}

// The seed's Phase 9 bug: drain off, LRU on. Every SuperSlab need misses
// the LRU and maps; freed blocks stay parked and counted used; nothing ever
// empties.
inline void seed_drain_off(Stream& s, uint64_t superslabs = 200, size_t chunk = 4096) {
  const uint32_t tid = s.pid();
  s.config(0, 8);
  for (uint64_t i = 0; i < superslabs; ++i) {
    s.event(HK_EV_LRU_POP_MISS, tid, HK_CLASS_NONE, 0, 0, kSuperSlab, 0, 8);
    s.ss_map(tid, kBase + i * kSuperSlab, kSuperSlab, i + 1);
    for (uint64_t k = 0; k < 4; ++k)
      s.event(HK_EV_SLAB_ACQUIRE, tid, uint8_t(k), 0, kBase + i * kSuperSlab + k * kSlab, kSlab, k, 512, k + 1);
    for (uint8_t cls = 0; cls < 4; ++cls) {
      const uint64_t used = 512 * (i + 1);
      s.snapshot(cls, 16u << cls, used, used * 3 / 4);
    }
    maybe_flush(s, chunk);
  }
  s.flush();
}

// The fixed run: drain on, LRU on. A few SuperSlabs, reused through the
// LRU; drains return parked blocks so the gap closes after each drain.
inline void healthy(Stream& s, uint64_t rounds = 200, size_t chunk = 4096) {
  const uint32_t tid = s.pid();
  s.config(1024, 8);
  for (uint64_t i = 0; i < 20; ++i) s.foreign_mmap(tid, kBase / 2 + i * 4096 * 16, 4096 * 4, 0x401000 + i);
  for (uint64_t i = 0; i < 4; ++i) {
    s.event(HK_EV_LRU_POP_MISS, tid, HK_CLASS_NONE, 0, 0, kSuperSlab, 0, 8);
    s.ss_map(tid, kBase + i * kSuperSlab, kSuperSlab, i + 1);
  }
  for (uint64_t r = 0; r < rounds; ++r) {
    const uint64_t ss = kBase + (r % 4) * kSuperSlab;
    s.event(HK_EV_LRU_POP_HIT, tid, HK_CLASS_NONE, 0, ss, kSuperSlab, 3, 8);
    s.event(HK_EV_SLAB_ACQUIRE, tid, 1, 0, ss, kSlab, 0, 512, 1);
    s.snapshot(1, 32, 600, 300);
    s.event(HK_EV_DRAIN, tid, HK_CLASS_NONE, HK_DRAIN_INTERVAL, 0, 0, 512, 1, 1024);
    s.snapshot(1, 32, 100, 10);
    s.snapshot(1, 32, 90, 5);
    s.event(HK_EV_SLAB_EMPTY, tid, 1, 0, ss, kSlab, 0, 512, 0);
    s.event(HK_EV_SLAB_RELEASE, tid, 1, 0, ss, kSlab, 0, 512, 0);
    s.event(HK_EV_LRU_PUSH, tid, HK_CLASS_NONE, 0, ss, kSuperSlab, 4, 8);
    maybe_flush(s, chunk);
  }
  s.flush();
}

// LRU capacity 0: every emptied SuperSlab is unmapped and mapped again.
inline void superslab_churn(Stream& s, uint64_t cycles = 200, size_t chunk = 4096) {
  const uint32_t tid = s.pid();
  s.config(1024, 0);
  for (uint64_t i = 0; i < cycles; ++i) {
    s.event(HK_EV_LRU_POP_MISS, tid, HK_CLASS_NONE, 0, 0, kSuperSlab, 0, 0);
    s.ss_map(tid, kBase, kSuperSlab, 1);
    s.event(HK_EV_SLAB_ACQUIRE, tid, 2, 0, kBase, kSlab, 0, 512, 1);
    s.event(HK_EV_DRAIN, tid, HK_CLASS_NONE, HK_DRAIN_INTERVAL, 0, 0, 512, 1, 1024);
    s.snapshot(2, 64, 0, 0);
    s.event(HK_EV_SLAB_EMPTY, tid, 2, 0, kBase, kSlab, 0, 512, 0);
    s.event(HK_EV_SLAB_RELEASE, tid, 2, 0, kBase, kSlab, 0, 512, 0);
    s.ss_unmap(tid, kBase, kSuperSlab, HK_SS_LRU_OFF, 0);
    maybe_flush(s, chunk);
  }
  s.flush();
}

// The benchmark's mix: every record type the report aggregates, in the
// proportions of a busy allocator (mostly slab, LRU and snapshot events,
// one SuperSlab syscall pair per cycle, a foreign syscall now and then),
// over several threads. Stops once `events` allocator events are written.
inline void bench_mix(Stream& s, uint64_t events, size_t chunk = 4096) {
  s.config(1024, 8);
  uint64_t cycle = 0;
  while (s.event_count() < events) {
    const uint32_t tid = s.pid() + uint32_t(cycle % 4);
    const uint64_t ss = kBase + (cycle % 64) * kSuperSlab;
    const uint8_t cls = uint8_t(cycle % 8);
    s.event(HK_EV_LRU_POP_MISS, tid, HK_CLASS_NONE, 0, 0, kSuperSlab, 0, 8);
    s.ss_map(tid, ss, kSuperSlab, 1);
    for (uint64_t k = 0; k < 3; ++k) {
      s.event(HK_EV_SLAB_ACQUIRE, tid, cls, 0, ss + k * kSlab, kSlab, k, 512, k + 1);
      s.event(HK_EV_REMOTE_FREE_BATCH, tid, cls, 0, ss + k * kSlab, 0, 17);
      s.snapshot(cls, 16u << (cls % 6), 900, 120);
      s.event(HK_EV_DRAIN, tid, HK_CLASS_NONE, HK_DRAIN_INTERVAL, 0, 0, 500, 1, 1024);
      s.event(HK_EV_SLAB_EMPTY, tid, cls, 0, ss + k * kSlab, kSlab, k, 512, 2 - k);
      s.event(HK_EV_SLAB_RELEASE, tid, cls, 0, ss + k * kSlab, kSlab, k, 512, 2 - k);
    }
    s.event(HK_EV_LRU_PUSH, tid, HK_CLASS_NONE, 0, ss, kSuperSlab, 1, 8);
    s.event(HK_EV_LRU_EVICT, tid, HK_CLASS_NONE, 0, ss, kSuperSlab, 8, 8);
    s.ss_unmap(tid, ss, kSuperSlab, HK_SS_EVICT, 0);
    if (cycle % 16 == 0) s.foreign_mmap(tid, kBase / 2 + (cycle % 1024) * 4096, 4096, 0x401234);
    ++cycle;
    s.advance(200'000);  // ~5000 cycles per second of trace time
    maybe_flush(s, chunk);
  }
  s.flush();
}

}  // namespace hk::synth
