#include "large_alloc.h"

#include <errno.h>
#include <stdint.h>

#include "config.h"
#include "event_ring.h"
#include "lifecycle.h"
#include "lock.h"
#include "os_memory.h"
#include "purge.h"
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
  size_t len;   // the mapping
  size_t span;  // its request's class: base + span ends what malloc_usable_size reports
  size_t req;
};

struct Cached {
  uintptr_t base;
  size_t len;
  size_t req;
  PurgeAge age;  // purge.h; kPurgeDone: its pages are zero and not resident
  // A miss could not extend it: both neighbours were mapped. Not tried
  // again until it merges with one (the merged range starts clear).
  bool boxed = false;
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

// A mapping that leaves hakmem: its LARGE_UNMAP record, then the unmap.
void unmap_logged_locked(const Cached& c) {
  log_large_locked(HK_EV_LARGE_UNMAP, c);
  unmap_large(c);
}

// What the cache may hold: HAKMEM_LARGE_CACHE_CAP, or the peak of live
// large bytes when that is more (unless HAKMEM_LARGE_CACHE_ADAPTIVE=0). A
// fixed cap made a program whose big buffers outgrew it (malloc-large's
// twenty of 5-25 MiB) unmap each one and fault every page of the next;
// the peak is what the program showed it needs again. What the cache keeps
// and nobody reuses is purged after the delay (purge.h), so it costs
// address space, not resident pages.
size_t cache_limit_locked() {
  const size_t cap = g_cfg.large_cache_cap;
  if (!cap || !g_cfg.large_cache_adaptive) return cap;
  return g_peak_live_bytes > cap ? g_peak_live_bytes : cap;
}

void cache_remove(size_t i) {
  g_cache_bytes -= g_cache[i].len;
  for (; i + 1 < g_cache_n; ++i) g_cache[i] = g_cache[i + 1];
  --g_cache_n;
  g_stats.large_cached_bytes.store(g_cache_bytes, std::memory_order_relaxed);
}

void evict_oldest_locked() {
  const Cached victim = g_cache[0];
  cache_remove(0);
  unmap_logged_locked(victim);
}

// Caches c, a mapping no block uses (at most the cap), as the newest entry,
// merged with the cached ranges right before and after it: the pieces of a
// split mapping come back together when the head is freed, so a loop of
// random sizes under one mapping's size (large_block_loop) keeps reusing
// it. The oldest entries go to make room.
void cache_insert_locked(Cached c) {
  for (size_t i = 0; i < g_cache_n;) {
    const Cached& e = g_cache[i];
    if (e.base + e.len != c.base && c.base + c.len != e.base) {
      ++i;
      continue;
    }
    registry_cut_large(e.base < c.base ? c.base : e.base, -1);
    c = Cached{e.base < c.base ? e.base : c.base, e.len + c.len, c.req, e.age < c.age ? e.age : c.age};
    cache_remove(i);
    i = 0;  // the merged range may now touch an entry already passed
  }
  const size_t limit = cache_limit_locked();
  if (c.len > limit) {  // merged past what the cache may hold
    unmap_logged_locked(c);
    return;
  }
  while (g_cache_n == kCacheSlots || g_cache_bytes + c.len > limit) evict_oldest_locked();
  g_cache[g_cache_n++] = c;
  g_cache_bytes += c.len;
  g_stats.large_cached_bytes.store(g_cache_bytes, std::memory_order_relaxed);
  if (c.age != kPurgeDone) purge_arm();
}

// Every 64th large operation runs a purge tick: the tick's clock read was
// 4% of a malloc/free loop of big blocks (large_block_loop) when every
// operation made it.
uint32_t g_ops_to_tick = 1;
bool tick_due_locked() {
  if (--g_ops_to_tick) return false;
  g_ops_to_tick = 64;
  return true;
}

// Mapping length for a request: page-rounded, then to 1/8 of its power of
// two. This is the large blocks' size class: near sizes share cached
// mappings, and a block never spans more than its request's class (what
// malloc_usable_size reports, and what stays resident on its account).
size_t mapping_len(size_t need) {
  size_t gran = kPage;
  const size_t top = size_t(1) << (63 - __builtin_clzll(need));
  if (top / 8 > gran) gran = top / 8;
  return (need + gran - 1) & ~(gran - 1);
}

// A cached mapping at most a quarter above the request's class is handed
// whole (its span says the class): splitting it would leave a tail that
// only churns, as in a loop over two neighbouring classes (1 MiB and
// 1 MiB + 4 KiB: 15,000 syscalls in 20,000 iterations).
bool close_fit(size_t len, size_t need) { return len - need <= need / 4; }

// Cuts [c.base + len, c.base + c.len) off a mapping that keeps its first
// len bytes: the tail goes to the cache (age kept; the delayed purge gives
// its pages back if nothing reuses it), or back to the kernel when it is
// more than the cache holds. The registry counts the two pieces apart.
void cut_tail_locked(Cached& c, size_t len) {
  const Cached tail{c.base + len, c.len - len, 0, c.age};
  c.len = len;
  registry_cut_large(tail.base, +1);
  if (tail.len <= cache_limit_locked()) {
    cache_insert_locked(tail);
  } else {
    unmap_logged_locked(tail);
  }
}

// A miss extends a cached range only when it is at least this part of the
// request: below that, the pages it saves are not worth the syscall that
// may fail.
constexpr size_t kGrowMinPart = 4;

void count_reuse_locked(const Cached& c) {
  bump(g_stats.large_reuses);
  g_reuses.last = c;
  g_reuses.bytes += c.len;
  if (++g_reuses.n == kReuseBatch) log_reuses_locked();
}

// Maps the need - r.len bytes right after r, or else right before it, so
// that the two make one range of need bytes; returns that new piece, or
// len 0 when both neighbours are taken. Not under the lock: r is no
// longer in the cache, nobody else can touch it.
Cached extend(const Cached& r, size_t need) {
  const size_t add = need - r.len;
  const uintptr_t above = r.base + r.len, below = r.base - add;
  if ((above + add - 1) >> kSsShift < kRegEntries && os_map_at(reinterpret_cast<void*>(above), add, HK_OS_LARGE))
    return Cached{above, add, r.req, kPurgeNew};
  if (r.base > add && os_map_at(reinterpret_cast<void*>(below), add, HK_OS_LARGE))
    return Cached{below, add, r.req, kPurgeNew};
  return Cached{0, 0, r.req, kPurgeNew};
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
  Cached got{0, 0, size, kPurgeNew};
  Cached grow{0, 0, size, kPurgeNew};  // a cached range to extend to `need` on a miss
  {
    Guard g(g_large_lock);
    // Best fit. A mapping more than a quarter bigger is split: the request
    // takes its first `need` bytes (its own class, so malloc_usable_size
    // says what was asked), and the rest stays cached for other requests.
    // Handed whole, a freed 64 MiB buffer kept its touched pages resident
    // behind a 40 KB request, and redis, which accounts clients with
    // malloc_usable_size, evicted them as huge.
    size_t best = kCacheSlots, biggest = kCacheSlots;
    for (size_t i = 0; i < g_cache_n; ++i) {
      const size_t len = g_cache[i].len;
      if (len >= need && (best == kCacheSlots || len < g_cache[best].len)) {
        best = i;
        if (len == need) break;  // lengths are quantised: exact fits are common
      }
      if (!g_cache[i].boxed && (biggest == kCacheSlots || len > g_cache[biggest].len)) biggest = i;
    }
    if (best == kCacheSlots) {
      // A miss: every cached range is too small. The biggest, when it is a
      // good part of the request, is taken to be extended in place by the
      // rest (below), so its resident pages serve the request instead of
      // being unmapped while fresh ones fault in.
      // Both are the adaptive cache's: with HAKMEM_LARGE_CACHE_ADAPTIVE=0
      // a miss maps anew within the bare peak, the fixed cache that
      // `whatif --large-cache` models.
      const bool adaptive = g_cfg.large_cache_adaptive;
      if (adaptive && biggest != kCacheSlots && g_cache[biggest].len >= need / kGrowMinPart) {
        grow = g_cache[biggest];
        grow.req = size;
        cache_remove(biggest);
      }
      // Then give back the oldest cached ones that would take the
      // footprint past the peak of live large bytes and a fifth. Syscalls
      // follow the footprint's growth, not the loop. The fifth is room for
      // the pieces of split blocks waiting for their neighbours. Measured
      // on large_buffer_swap 500 20 1 (twenty buffers of 5-25 MiB): with
      // no room, a cached block was unmapped at nearly every miss and 510K
      // pages faulted (the fixed 64 MiB cap: 690K); with an eighth, 156K;
      // with a fifth, 126K (tcmalloc 122K) at a peak RSS of 506 MB, 1.21x
      // the leanest peer's (jemalloc, 417 MB), within issue 15's 1.25x.
      const size_t add = need - grow.len;
      size_t peak = g_live_bytes + need > g_peak_live_bytes ? g_live_bytes + need : g_peak_live_bytes;
      if (adaptive) peak += peak / 5;
      while (g_cache_n && g_live_bytes + grow.len + g_cache_bytes + add > peak) evict_oldest_locked();
    } else {
      got = g_cache[best];
      got.req = size;
      cache_remove(best);
      if (!close_fit(got.len, need)) cut_tail_locked(got, need);
      count_reuse_locked(got);
    }
  }
  // The pages mapped for this request: all of it, or what extends `grow`.
  Cached piece{0, 0, size, kPurgeNew};
  if (grow.len) {
    piece = extend(grow, need);
    if (piece.len) {
      got = Cached{grow.base < piece.base ? grow.base : piece.base, need, size, grow.age};
    } else {
      Guard g(g_large_lock);  // neither side was free: it goes back
      grow.boxed = true;
      cache_insert_locked(grow);
    }
  }
  if (!got.base) {
    void* p = os_map(need, HK_OS_LARGE);
    if (!p) {
      errno = ENOMEM;
      return nullptr;
    }
    piece = Cached{reinterpret_cast<uintptr_t>(p), need, size, kPurgeNew};
    if ((piece.base + need - 1) >> kSsShift >= kRegEntries) {
      os_unmap(p, need, HK_OS_LARGE);
      errno = ENOMEM;
      return nullptr;
    }
    got = piece;
  }
  // Purged pages read as zero, like a new mapping's (calloc skips the memset).
  *fresh = got.age == kPurgeDone || (piece.len == got.len);
  const uintptr_t user = align > kPage ? (got.base + align - 1) & ~uintptr_t(align - 1) : got.base;
  bool due;
  {
    Guard g(g_large_lock);
    if (piece.len) {
      bump(g_stats.large_maps);
      registry_add_large(piece.base, piece.len, +1);
      log_large_locked(HK_EV_LARGE_MAP, piece);
      if (piece.len != got.len) {  // one range from here on, as a merge in the cache makes it
        registry_cut_large(piece.base == got.base ? grow.base : piece.base, -1);
        count_reuse_locked(grow);
      }
    }
    if ((g_count + 1) * 2 > g_mask + 1 && !grow_table()) {
      // No room to track it: give it back rather than hand out an untracked block.
      unmap_logged_locked(got);
      errno = ENOMEM;
      return nullptr;
    }
    insert_raw(Entry{user, got.base, got.len, need, size});
    ++g_count;
    g_live_bytes += got.len;
    if (g_live_bytes > g_peak_live_bytes) g_peak_live_bytes = g_live_bytes;
    due = tick_due_locked();
  }
  if (due) purge_tick();
  return reinterpret_cast<void*>(user);
}

bool large_free(void* p) {
  bool due;
  {
    Guard g(g_large_lock);
    Entry* e = find(reinterpret_cast<uintptr_t>(p));
    if (!e) return false;
    const Cached c{e->base, e->len, e->req, kPurgeNew};
    erase(e);
    --g_count;
    g_live_bytes -= c.len;
    if (c.len > cache_limit_locked()) {
      unmap_logged_locked(c);
    } else {
      cache_insert_locked(c);
    }
    due = tick_due_locked();
  }
  if (due) purge_tick();
  return true;
}

bool large_shrink(void* p, size_t size) {
  Guard g(g_large_lock);
  Entry* e = find(reinterpret_cast<uintptr_t>(p));
  if (!e || size > size_t(PTRDIFF_MAX) - 2 * kPage) return false;  // no wrap in mapping_len
  const size_t need = mapping_len(e->user - e->base + size);
  if (need > e->len) return false;
  if (!close_fit(e->len, need)) {
    Cached c{e->base, e->len, size, kPurgeNew};
    g_live_bytes -= c.len - need;
    cut_tail_locked(c, need);
    e->len = need;
  }
  e->span = need;
  e->req = size;
  return true;
}

void large_purge_pass() {
  Guard g(g_large_lock);
  for (size_t i = 0; i < g_cache_n; ++i) {
    Cached& c = g_cache[i];
    if (c.age == kPurgeAged) purge_range(reinterpret_cast<void*>(c.base), c.len);
    if (c.age != kPurgeDone) c.age = PurgeAge(c.age + 1);
  }
}

size_t large_usable(const void* p) {
  Guard g(g_large_lock);
  const Entry* e = find(reinterpret_cast<uintptr_t>(p));
  return e ? e->base + e->span - e->user : 0;
}

size_t large_trim() {
  Guard g(g_large_lock);
  size_t bytes = 0;
  while (g_cache_n) {
    bytes += g_cache[0].len;
    evict_oldest_locked();
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
