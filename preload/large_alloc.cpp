#include "large_alloc.h"

#include <errno.h>
#include <stdint.h>

#include "config.h"
#include "event_ring.h"
#include "lifecycle.h"
#include "lock.h"
#include "os_memory.h"
#include "registry.h"
#include "stats.h"

namespace hk {

namespace {

constexpr size_t kPage = 4096;
// Enough for a producer's burst of hundreds of frees; the byte cap binds first.
constexpr size_t kCacheSlots = 1024;

struct Entry {
  uintptr_t user;  // 0 = empty slot
  uintptr_t base;
  size_t len;
  size_t req;
};

struct Cached {
  uintptr_t base;
  size_t len;
  size_t req;
};

// All below: guarded by g_large_lock.
Mutex g_large_lock;
Entry g_static_table[1024];
Entry* g_table = g_static_table;
size_t g_mask = 1023;
size_t g_count;
Cached g_cache[kCacheSlots];  // oldest first
size_t g_cache_n;
size_t g_cache_bytes;
// Mapping bytes of live large blocks, now and at their peak: the cache keeps
// live + cached within the peak, so a loop of different sizes reuses one
// mapping instead of keeping one resident per size.
size_t g_live_bytes;
size_t g_peak_live_bytes;

// Reuses not logged yet. One LARGE_REUSE record sums up to kReuseBatch of
// them (events.h), logged before the next large map or unmap record, and
// at exit: a record per reuse was every record of a malloc/free loop of big
// blocks (large_block_loop: 300K), and 3% of its time under `record`.
constexpr uint64_t kReuseBatch = 64;
struct {
  uint64_t n, bytes;
  Cached last;
} g_reuses;

void log_reuses_locked() {
  if (!g_reuses.n) return;
  emit(HK_EV_LARGE_REUSE, HK_CLASS_NONE, 0, g_reuses.last.base, g_reuses.bytes, g_reuses.last.req,
       g_cache_n, g_reuses.n);
  g_reuses = {};
}

// Large maps and unmaps are logged in order after the reuses before them.
void log_large_locked(hk_event_type type, const Cached& c) {
  log_reuses_locked();
  emit(type, HK_CLASS_NONE, 0, c.base, c.len, c.req, g_cache_n);
}

size_t slot_of(uintptr_t user) { return size_t((user >> 12) * 0x9E3779B97F4A7C15ull >> 20) & g_mask; }

Entry* find(uintptr_t user) {
  for (size_t i = slot_of(user);; i = (i + 1) & g_mask) {
    if (g_table[i].user == user) return &g_table[i];
    if (g_table[i].user == 0) return nullptr;
  }
}

void insert_raw(const Entry& e) {
  size_t i = slot_of(e.user);
  while (g_table[i].user) i = (i + 1) & g_mask;
  g_table[i] = e;
}

// Linear probing with backward-shift deletion: no tombstones to pile up.
void erase(Entry* e) {
  size_t i = size_t(e - g_table);
  for (size_t j = (i + 1) & g_mask; g_table[j].user; j = (j + 1) & g_mask) {
    const size_t home = slot_of(g_table[j].user);
    if (((j - home) & g_mask) >= ((j - i) & g_mask)) {
      g_table[i] = g_table[j];
      i = j;
    }
  }
  g_table[i].user = 0;
}

bool grow_table() {
  const size_t cap = (g_mask + 1) * 2;
  auto* t = static_cast<Entry*>(os_map(cap * sizeof(Entry), HK_OS_METADATA));
  if (!t) return false;
  Entry* old = g_table;
  const size_t old_cap = g_mask + 1;
  g_table = t;
  g_mask = cap - 1;
  for (size_t i = 0; i < old_cap; ++i)
    if (old[i].user) insert_raw(old[i]);
  if (old != g_static_table) os_unmap(old, old_cap * sizeof(Entry), HK_OS_METADATA);
  return true;
}

void unmap_large(const Cached& c) {
  registry_add_large(c.base, c.len, -1);
  os_unmap(reinterpret_cast<void*>(c.base), c.len, HK_OS_LARGE);
  bump(g_stats.large_unmaps);
}

void cache_remove(size_t i) {
  g_cache_bytes -= g_cache[i].len;
  for (; i + 1 < g_cache_n; ++i) g_cache[i] = g_cache[i + 1];
  --g_cache_n;
  g_stats.large_cached_bytes.store(g_cache_bytes, std::memory_order_relaxed);
}

// Mapping length for a request: page-rounded, then to 1/8 of its power of
// two, so near sizes share cached mappings.
size_t mapping_len(size_t need) {
  size_t gran = kPage;
  const size_t top = size_t(1) << (63 - __builtin_clzll(need));
  if (top / 8 > gran) gran = top / 8;
  return (need + gran - 1) & ~(gran - 1);
}

}  // namespace

void* large_alloc(size_t size, size_t align, bool* fresh) {
  ensure_init();
  const size_t slack = align > kPage ? align - kPage : 0;
  if (size > size_t(PTRDIFF_MAX) - slack - 2 * kPage) {
    errno = ENOMEM;
    return nullptr;
  }
  const size_t need = mapping_len(size + slack);
  Cached got{0, 0, size};
  {
    Guard g(g_large_lock);
    // Best fit, however much bigger: the spare pages of a cached mapping
    // cost nothing more than they already do by staying cached.
    size_t best = kCacheSlots;
    for (size_t i = 0; i < g_cache_n; ++i) {
      const size_t len = g_cache[i].len;
      if (len >= need && (best == kCacheSlots || len < g_cache[best].len)) {
        best = i;
        if (len == need) break;  // lengths are quantised: exact fits are common
      }
    }
    if (best == kCacheSlots) {
      // A new mapping: give back the oldest cached ones (all too small for
      // this request) that would take the footprint past the peak of live
      // large bytes. Syscalls follow the footprint's growth, not the loop.
      const size_t peak = g_live_bytes + need > g_peak_live_bytes ? g_live_bytes + need : g_peak_live_bytes;
      while (g_cache_n && g_live_bytes + g_cache_bytes + need > peak) {
        const Cached victim = g_cache[0];
        cache_remove(0);
        log_large_locked(HK_EV_LARGE_UNMAP, victim);
        unmap_large(victim);
      }
    }
    if (best != kCacheSlots) {
      got.base = g_cache[best].base;
      got.len = g_cache[best].len;
      cache_remove(best);
      bump(g_stats.large_reuses);
      g_reuses.last = Cached{got.base, got.len, size};
      g_reuses.bytes += got.len;
      if (++g_reuses.n == kReuseBatch) log_reuses_locked();
    }
  }
  *fresh = got.base == 0;
  if (!got.base) {
    void* p = os_map(need, HK_OS_LARGE);
    if (!p) {
      errno = ENOMEM;
      return nullptr;
    }
    got.base = reinterpret_cast<uintptr_t>(p);
    got.len = need;
    if ((got.base + need - 1) >> kSsShift >= kRegEntries) {
      os_unmap(p, need, HK_OS_LARGE);
      errno = ENOMEM;
      return nullptr;
    }
    bump(g_stats.large_maps);
  }
  const uintptr_t user = align > kPage ? (got.base + align - 1) & ~uintptr_t(align - 1) : got.base;
  Guard g(g_large_lock);
  if ((g_count + 1) * 2 > g_mask + 1 && !grow_table()) {
    // No room to track it: give it back rather than hand out an untracked block.
    if (*fresh) os_unmap(reinterpret_cast<void*>(got.base), got.len, HK_OS_LARGE);
    else unmap_large(got);
    errno = ENOMEM;
    return nullptr;
  }
  if (*fresh) {
    registry_add_large(got.base, got.len, +1);
    log_large_locked(HK_EV_LARGE_MAP, Cached{got.base, got.len, size});
  }
  insert_raw(Entry{user, got.base, got.len, size});
  ++g_count;
  g_live_bytes += got.len;
  if (g_live_bytes > g_peak_live_bytes) g_peak_live_bytes = g_live_bytes;
  return reinterpret_cast<void*>(user);
}

bool large_free(void* p) {
  Guard g(g_large_lock);
  Entry* e = find(reinterpret_cast<uintptr_t>(p));
  if (!e) return false;
  const Cached c{e->base, e->len, e->req};
  erase(e);
  --g_count;
  g_live_bytes -= c.len;
  const size_t cap = g_cfg.large_cache_cap;
  if (c.len > cap) {
    log_large_locked(HK_EV_LARGE_UNMAP, c);
    unmap_large(c);
    return true;
  }
  while (g_cache_n == kCacheSlots || g_cache_bytes + c.len > cap) {
    const Cached victim = g_cache[0];
    cache_remove(0);
    log_large_locked(HK_EV_LARGE_UNMAP, victim);
    unmap_large(victim);
  }
  g_cache[g_cache_n++] = c;
  g_cache_bytes += c.len;
  g_stats.large_cached_bytes.store(g_cache_bytes, std::memory_order_relaxed);
  return true;
}

size_t large_usable(const void* p) {
  Guard g(g_large_lock);
  const Entry* e = find(reinterpret_cast<uintptr_t>(p));
  return e ? e->base + e->len - e->user : 0;
}

size_t large_trim() {
  Guard g(g_large_lock);
  size_t bytes = 0;
  while (g_cache_n) {
    const Cached c = g_cache[0];
    cache_remove(0);
    log_large_locked(HK_EV_LARGE_UNMAP, c);
    unmap_large(c);
    bytes += c.len;
  }
  return bytes;
}

void large_log_pending() {
  Guard g(g_large_lock);
  log_reuses_locked();
}

void large_fork_prepare() { g_large_lock.lock(); }
void large_fork_parent() { g_large_lock.unlock(); }
void large_fork_child() { g_large_lock.reinit(); }

}  // namespace hk
