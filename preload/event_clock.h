// Clocks for the event ring: CLOCK_MONOTONIC, and a cheaper read of it for
// record timestamps.
//
// Contract: any thread, lock-free, never allocates or blocks. event_ns()
// returns CLOCK_MONOTONIC nanoseconds, the clock the probe's kernel
// timestamps use, so allocator records and syscalls join on one time line.
// Where the kernel's own clocksource is the TSC (x86-64), CLOCK_MONOTONIC
// is the TSC scaled and offset, and event_ns() extends a line through two
// (TSC, clock_gettime) pairs taken at least kRefreshNs apart: one rdtsc and a
// multiply instead of the vDSO's fenced read, which was the largest part of
// a record's cost (23 of ~60 ns). The thread that finds the line older than
// kRefreshNs takes a new pair; readers never wait for it. Timestamps stay
// within tens of ns of clock_gettime (the rate drifts by at most NTP's slew
// over a ms); they are not strictly monotonic across a refresh. Elsewhere
// every call is clock_gettime.
//
// Lifecycle: event_clock_init() once before the first record (ring_init);
// event_clock_after_fork_child() in the child (a refresh may have been in
// flight on a thread that does not exist there).
#pragma once

#include <stdint.h>
#include <time.h>

namespace hk {

// A clock's time in ns; CLOCK_MONOTONIC is the clock of every event.
uint64_t clock_ns(clockid_t clock);
inline uint64_t mono_ns() { return clock_ns(CLOCK_MONOTONIC); }

void event_clock_init();
void event_clock_after_fork_child();

// CLOCK_MONOTONIC ns, read from the TSC where that is exact enough.
uint64_t event_ns();

// True once event_ns() reads the TSC (the first line needs kRefreshNs).
bool event_clock_uses_tsc();

}  // namespace hk
