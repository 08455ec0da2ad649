#include "event_clock.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <atomic>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace hk {

uint64_t clock_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

namespace {

// How long a line is used before a thread takes a new pair, and the least
// time between the two pairs that set its slope.
constexpr uint64_t kRefreshNs = 1000000;

// The line: ns = base_ns + ((tsc - base_tsc) * mult) >> 32 while
// tsc - base_tsc < span. A seqlock: seq is odd while one thread rewrites it.
// base_tsc/base_ns are always a real pair, never an extrapolated point, so
// the slope comes from clock_gettime alone.
struct Line {
  std::atomic<uint64_t> seq;
  std::atomic<uint64_t> base_tsc, base_ns, mult, span;
};
Line s_line;
bool s_tsc;  // set once at init, before any record

#if defined(__x86_64__)
// The kernel scales the TSC into CLOCK_MONOTONIC only when it is its
// clocksource; with any other (kvm-clock, hpet) the two can drift apart.
bool kernel_clock_is_tsc() {
  const int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                      O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[16] = {};
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n == 4 && memcmp(buf, "tsc\n", 4) == 0;
}

// A (TSC, CLOCK_MONOTONIC) pair: the TSC read on both sides of the clock
// and the midpoint kept, or false when the two reads lie further apart than
// max_cycles (the thread was preempted or interrupted in between, and the
// pair could be off by as long as that took: under TSan, by microseconds).
bool take_pair(uint64_t max_cycles, uint64_t& tsc, uint64_t& ns) {
  const uint64_t t0 = __rdtsc();
  ns = mono_ns();
  const uint64_t t1 = __rdtsc();
  tsc = t0 + (t1 - t0) / 2;
  return t1 - t0 <= max_cycles;
}

// Before the first slope: a clock_gettime costs ~60 cycles here.
constexpr uint64_t kFirstPairMaxCycles = 4096;

// Takes a pair and, when the last one is at least kRefreshNs old, makes the
// line through both the current one. Returns the clock's reading.
uint64_t refresh() {
  uint64_t seq = s_line.seq.load(std::memory_order_relaxed);
  if ((seq & 1) || !s_line.seq.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire,
                                                       std::memory_order_relaxed))
    return mono_ns();  // another thread is at it
  const uint64_t prev_tsc = s_line.base_tsc.load(std::memory_order_relaxed);
  const uint64_t prev_ns = s_line.base_ns.load(std::memory_order_relaxed);
  const uint64_t span = s_line.span.load(std::memory_order_relaxed);
  // The pair's uncertainty at most 1/1000 of a refresh period (1 us).
  const uint64_t max_cycles = span ? span / 1000 : kFirstPairMaxCycles;
  uint64_t tsc, ns;
  if (take_pair(max_cycles, tsc, ns) && ns - prev_ns >= kRefreshNs && tsc > prev_tsc) {
    const unsigned __int128 scaled = static_cast<unsigned __int128>(ns - prev_ns) << 32;
    const uint64_t mult = uint64_t(scaled / (tsc - prev_tsc));
    // Cycles in kRefreshNs; a TSC slower than 16 MHz is not one to trust.
    const uint64_t next_span = mult ? (kRefreshNs << 32) / mult : 0;
    if (mult < (uint64_t(1) << 38) && next_span) {
      s_line.mult.store(mult, std::memory_order_relaxed);
      s_line.span.store(next_span, std::memory_order_relaxed);
    }
    s_line.base_tsc.store(tsc, std::memory_order_relaxed);
    s_line.base_ns.store(ns, std::memory_order_relaxed);
  }
  s_line.seq.store(seq + 2, std::memory_order_release);
  return ns;
}
#endif

}  // namespace

void event_clock_init() {
#if defined(__x86_64__)
  if (!kernel_clock_is_tsc()) return;
  uint64_t tsc, ns;
  for (int tries = 0; !take_pair(kFirstPairMaxCycles, tsc, ns); ++tries)
    if (tries == 8) return;
  s_line.base_ns.store(ns, std::memory_order_relaxed);
  s_line.base_tsc.store(tsc, std::memory_order_relaxed);
  s_line.span.store(0, std::memory_order_relaxed);  // no slope yet: refresh
  s_tsc = true;
#endif
}

void event_clock_after_fork_child() {
  const uint64_t seq = s_line.seq.load(std::memory_order_relaxed);
  s_line.seq.store(seq & ~uint64_t(1), std::memory_order_relaxed);
}

uint64_t event_ns() {
#if defined(__x86_64__)
  if (s_tsc) {
    const uint64_t seq = s_line.seq.load(std::memory_order_acquire);
    const uint64_t base_tsc = s_line.base_tsc.load(std::memory_order_relaxed);
    const uint64_t base_ns = s_line.base_ns.load(std::memory_order_relaxed);
    const uint64_t mult = s_line.mult.load(std::memory_order_relaxed);
    const uint64_t span = s_line.span.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    const uint64_t elapsed = __rdtsc() - base_tsc;
    if (!(seq & 1) && s_line.seq.load(std::memory_order_relaxed) == seq && elapsed < span)
      return base_ns + uint64_t((static_cast<unsigned __int128>(elapsed) * mult) >> 32);
    return refresh();
  }
#endif
  return mono_ns();
}

bool event_clock_uses_tsc() {
  return s_tsc && s_line.span.load(std::memory_order_relaxed) != 0;
}

}  // namespace hk
