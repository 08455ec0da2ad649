#include "purge.h"

#include <sys/mman.h>

#include <atomic>

#include "config.h"
#include "event_clock.h"
#include "large_alloc.h"
#include "os_memory.h"
#include "shared_pool.h"
#include "stats.h"

namespace hk {

namespace {

// When the next pass is due (CLOCK_MONOTONIC ns); 0 while nothing was ever
// cached. Once armed it stays armed: a pass over caches with nothing to age
// is a lock and a short walk, once a period, and only from slow paths.
std::atomic<uint64_t> g_next_pass_ns{0};

uint64_t period_ns() { return uint64_t(g_cfg.purge_delay_ms) * 1000000; }

}  // namespace

void purge_arm() {
  if (!g_cfg.purge_delay_ms || g_next_pass_ns.load(std::memory_order_relaxed)) return;
  uint64_t expected = 0;
  g_next_pass_ns.compare_exchange_strong(expected, event_ns() + period_ns(), std::memory_order_relaxed);
}

void purge_range(void* p, size_t len) {
  os_advise(p, len, MADV_DONTNEED, HK_OS_PURGE);
  bump(g_stats.purged_bytes, len);
}

void purge_tick() {
  uint64_t due = g_next_pass_ns.load(std::memory_order_relaxed);
  if (!due) return;
  const uint64_t now = event_ns();
  if (now < due) return;
  // One thread runs the pass; the others see the next period's deadline.
  if (!g_next_pass_ns.compare_exchange_strong(due, now + period_ns(), std::memory_order_relaxed)) return;
  bump(g_stats.purge_passes);
  pool_purge_pass();
  large_purge_pass();
}

}  // namespace hk
