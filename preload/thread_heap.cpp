#include "thread_heap.h"

#include <errno.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "api_core.h"
#include "config.h"
#include "event_backlog.h"
#include "event_ring.h"
#include "lifecycle.h"
#include "line_writer.h"
#include "lock.h"
#include "os_memory.h"
#include "purge.h"
#include "shared_pool.h"
#include "stats.h"
#include "hot_path.h"

namespace hk {

constinit thread_local ThreadCache t_tc __attribute__((tls_model("initial-exec"))) = {};

struct ClassLists {
  Slab* partial;  // owned slabs with free or uncarved blocks
  Slab* full;     // owned slabs with none
  void* spill;    // drain off: SLL overflow, still counted used
  // Slabs that other threads' frees emptied, kept for this class's next
  // refills instead of going back to the pool (see collect_inbox); linked
  // through Slab::next, at most kKeptPerClass.
  Slab* kept;
  uint32_t kept_count;
  std::atomic<uint32_t> spill_count;
  // Blocks a refill moves into the SLL: doubles on each refill, halves
  // when a drain finds idle blocks, so refills track what the thread uses.
  uint32_t fill;
  // A refill came after this class's SLL last overflowed: the program
  // cycles more blocks of it than the SLL holds (grow_sll).
  bool refilled;
  // The bin's pop count at the last periodic drain: equal to it now, the
  // class had no pop since (return_quiet).
  uint16_t pops_at_tick;
};

struct ThreadHeap {
  Bin* bins;
  ClassLists cls[kNumClasses];
  std::atomic<void*> inbox;  // blocks other threads freed into our slabs
  ThreadHeap* next;          // live list, or free list
  uint32_t tid;
  uint32_t slow_calls;
  uint32_t frees_since_drain;
  uint32_t ticks_in_window;  // periodic drains since the idle window opened
  EventBacklog events;  // its drains and inbox collections, logged summed
};

namespace {

Mutex g_heaps_lock;  // live list, free list, heap storage
ThreadHeap* g_live;
ThreadHeap* g_free_heaps;
ThreadHeap g_static_heaps[2];  // most programs never map heap metadata
unsigned g_static_used;
char* g_heap_chunk;
size_t g_heap_chunk_left;

// Threads past their key destructor allocate here, under g_global_lock.
Mutex g_global_lock;
ThreadHeap g_global_heap;
Bin g_global_bins[kNumClasses];

std::atomic<uint64_t> g_last_snapshot_ns;

template <typename T>
uint32_t load(const std::atomic<T>& a) { return a.load(std::memory_order_relaxed); }
template <typename T>
void store(std::atomic<T>& a, uint32_t v) { a.store(T(v), std::memory_order_relaxed); }

void list_push(Slab*& head, Slab* s, SlabList which) {
  s->prev = nullptr;
  s->next = head;
  if (head) head->prev = s;
  head = s;
  s->list = which;
}
void list_remove(Slab*& head, Slab* s) {
  if (s->prev) s->prev->next = s->next;
  else head = s->next;
  if (s->next) s->next->prev = s->prev;
  s->prev = s->next = nullptr;
  s->list = kOnNone;
}
void unlink_owned(ThreadHeap* h, Slab* s) {
  ClassLists& L = h->cls[s->cls];
  list_remove(s->list == kOnPartial ? L.partial : L.full, s);
}

// How many emptied slabs a class keeps. producer_consumer (every free
// remote), slab acquisitions per 10M operations: none kept 28,246; one
// 7,504 (two 2,106); four 101. Peak RSS the same (2.8 MB) in all four.
constexpr uint32_t kKeptPerClass = 4;

struct Tally {
  uint64_t blocks = 0;
  uint64_t emptied = 0;
  bool keep_emptied = false;  // a slab this empties may become its class's kept slab
};

// Returns the run of blocks at the head of chain p that share one slab to
// that slab (owner only): the seed's tiny_free_local_box(), where `used`
// goes down. A chain from an SLL holds blocks freed close together in time,
// which mostly sit in few slabs, so the slab's metadata is read and written
// once per run, not once per block. Returns the rest of the chain.
// At most `limit` blocks (at least one).
void* return_run(ThreadHeap* h, void* p, Tally& t, uint64_t limit) {
  Slab* s = slab_head(slab_of(p));
  if (s->owner.load(std::memory_order_relaxed) != h) fatal("heap corrupted: foreign block", p);
  const uintptr_t off_mask = s->off_mask;
  const uintptr_t slab_bits = reinterpret_cast<uintptr_t>(p) & ~off_mask;
  // Every parked block starts a block (checked when it was freed); one past
  // the carved ones was never handed out.
  const uintptr_t carved_end = uintptr_t(s->carved) * s->bsize;
  const uint32_t used = s->used;
  void* list = s->freelist;
  uint32_t n = 0;
  do {
    void* next = *static_cast<void**>(p);
    if ((reinterpret_cast<uintptr_t>(p) & off_mask) >= carved_end || n == used)
      double_free(p);
    // A remotely freed block has no key yet; refill hands freelists over whole.
    link_free(p, list);
    list = p;
    ++n;
    p = next;
  } while (p && n < limit && (reinterpret_cast<uintptr_t>(p) & ~off_mask) == slab_bits);
  s->freelist = list;
  s->used = used - n;
  t.blocks += n;
  if (used == n) {
    ++t.emptied;
    unlink_owned(h, s);
    drop(g_stats.slabs_nonempty);
    ClassLists& L = h->cls[s->cls];
    if (t.keep_emptied && L.kept_count < kKeptPerClass) {
      s->next = L.kept;
      L.kept = s;
      ++L.kept_count;
    } else {
      pool_slab_emptied(s);
    }
  } else if (s->list == kOnFull) {
    ClassLists& L = h->cls[s->cls];
    list_remove(L.full, s);
    list_push(L.partial, s, kOnPartial);
  }
  return p;
}

// Returns the first n blocks of chain p (all of them, if it is shorter) to
// their slabs; returns the rest of the chain. Returning the head of an SLL
// this way visits each block once, where cutting the chain first walked the
// returned part twice (the walk was most of an overflow's and a drain's
// time in fill_free_all, perf).
void* return_first(ThreadHeap* h, void* p, uint64_t n, Tally& t) {
  const uint64_t end = t.blocks + n;
  while (p && t.blocks < end) p = return_run(h, p, t, end - t.blocks);
  return p;
}

uint64_t return_chain(ThreadHeap* h, void* p, Tally& t) {
  const uint64_t before = t.blocks;
  return_first(h, p, UINT64_MAX - t.blocks, t);
  return t.blocks - before;
}

// The owner collects what other threads freed into its slabs, one run of
// same-slab blocks at a time, and counts the collection into the pending
// REMOTE_FREE_BATCH record: a consumer freeing mixed sizes makes runs of
// about one block, and a record per run (or per collection) cost more than
// the frees themselves.
//
// A slab these frees empty is kept (up to kKeptPerClass per class) for the
// class's next refills: a thread whose blocks other threads free is
// allocating them, and sent each such slab to the pool and took one back
// moments later (producer_consumer: 22K acquire/release records of its 50K).
// Drains give kept slabs back (release_kept). Slabs a thread empties itself
// go to the pool at once: that is what lets fill_free_all's SuperSlabs reach
// the LRU.
void collect_inbox(ThreadHeap* h) {
  void* p = h->inbox.exchange(nullptr, std::memory_order_acquire);
  if (!p) return;
  Tally t;
  t.keep_emptied = h != &g_global_heap;
  uint64_t runs = 0, first_slab = 0;
  unsigned batch_cls = HK_CLASS_NONE;
  while (p) {
    Slab* s = slab_of(p);
    if (s->owner.load(std::memory_order_acquire) != h) {
      // Left in a recycled heap's inbox for a slab it no longer owns.
      void* next = *static_cast<void**>(p);
      free_not_owned(p, s);
      p = next;
      continue;
    }
    // Read before the run goes back: its last block may release the slab
    // and unmap its SuperSlab.
    const unsigned cls = s->cls;
    if (runs++ == 0) {
      first_slab = addr(slab_base(slab_head(s)));
      batch_cls = cls;
    } else if (cls != batch_cls) {
      batch_cls = HK_CLASS_NONE;
    }
    const uint64_t before = t.blocks;
    p = return_run(h, p, t, UINT64_MAX);
    drop(g_stats.class_used[cls], t.blocks - before);
  }
  if (!runs) return;
  bump(g_stats.remote_batches);
  bump(g_stats.remote_blocks_collected, t.blocks);
  h->events.collection(batch_cls, first_slab, t.blocks, runs, t.emptied);
}

// Sends the kept slabs back to the pool.
void release_kept(ThreadHeap* h) {
  for (ClassLists& L : h->cls) {
    while (Slab* s = L.kept) {
      L.kept = s->next;
      s->next = nullptr;
      pool_slab_emptied(s);
    }
    L.kept_count = 0;
  }
}

// Blocks at the bottom of b untouched since the last periodic drain.
uint32_t idle_blocks(const Bin& b) {
  const int32_t idle = int16_t(uint16_t(b.start - b.pops));
  const uint32_t n = load(b.count);
  return idle <= 0 ? 0 : (uint32_t(idle) < n ? uint32_t(idle) : n);
}

// b now holds `left` blocks, after blocks went from its top: fewer may be
// left than its idle bottom held.
void set_count(Bin& b, uint32_t left) {
  store(b.count, left);
  if (idle_blocks(b) > left) b.start = uint16_t(b.pops + left);
}

// Unlinks and returns everything below the first `keep` blocks of b (it
// holds more).
void* cut_sll_after(Bin& b, uint32_t keep) {
  void** link = &b.head;
  for (uint32_t i = 0; i < keep && *link; ++i) link = static_cast<void**>(*link);
  void* tail = *link;
  *link = nullptr;
  set_count(b, keep);
  return tail;
}

// A snapshot set (one event per active class) at most once per
// kSnapshotPeriodNs, process-wide, from the frequent callers: periodic
// drains and slow paths. A set per periodic drain was 21 events per 1024
// frees on random_mixed, and most of what the ring cost the allocator; the
// report's curves need points per millisecond, not per microsecond. Thread
// exits go through here too (larson starts 2400 threads); explicit drains
// and process exit log a set every time.
constexpr uint64_t kSnapshotPeriodNs = 1000000;

void snapshot_if_due(uint64_t now) {
  uint64_t last = g_last_snapshot_ns.load(std::memory_order_relaxed);
  if (now - last < kSnapshotPeriodNs) return;
  if (g_last_snapshot_ns.compare_exchange_strong(last, now, std::memory_order_relaxed))
    emit_snapshots();
}

// Returns the n most recently parked blocks of b (it holds more) to their
// slabs.
void return_sll_head(ThreadHeap* h, Bin& b, uint32_t n, Tally& t) {
  b.head = return_first(h, b.head, n, t);
  set_count(b, load(b.count) - n);
}

// Unlinks and returns the first n blocks of b (it holds more than n).
void* cut_sll_head(Bin& b, uint32_t n) {
  void* first = b.head;
  void* last = first;
  for (uint32_t i = 1; i < n; ++i) last = *static_cast<void**>(last);
  b.head = *static_cast<void**>(last);
  *static_cast<void**>(last) = nullptr;
  set_count(b, load(b.count) - n);
  return first;
}

// The periodic drain returns about three quarters of each SLL's idle
// blocks (idle_blocks: untouched all of the idle window), or of its upper
// half if that is more; blocks in use since are hot and mostly stay. Every
// other drain (thread exit, trim, hakmem_drain_now) returns everything,
// spill lists included.
//
// The idle window spans kIdleWindowTicks drain intervals, not one: a
// program that frees a batch and allocates it again (fill/free-all, a
// request pool) frees for many intervals in a row without a single pop, and
// a one-interval window called the whole batch idle and sent it back to
// its slabs, which went to the pool and came back in the next refills
// (fill_free_all 400 20000: 95% of the freed blocks drained, 99K slab
// acquire/release pairs). A window of 16 intervals is longer than such a
// free phase, so the next allocation phase's pops reach the blocks first;
// a class the program stopped using still goes back within 16K frees.
constexpr uint32_t kIdleWindowTicks = 16;

void drain_heap(ThreadHeap* h, hk_drain_reason reason) {
  Tally t;
  const bool idle_only = reason == HK_DRAIN_INTERVAL;
  const bool window_closed = !idle_only || ++h->ticks_in_window >= kIdleWindowTicks;
  if (window_closed) h->ticks_in_window = 0;
  for (unsigned c = 0; c < kNumClasses; ++c) {
    Bin& b = h->bins[c];
    ClassLists& L = h->cls[c];
    if (idle_only && !window_closed) {
      L.pops_at_tick = b.pops;
      continue;
    }
    void* back = nullptr;
    void* spill = nullptr;
    const uint64_t before = t.blocks;
    if (idle_only) {
      // As many blocks as sat idle all interval go back; which ones does
      // not matter to the accounting, so the cheaper end of the SLL goes:
      // the top when that is the shorter walk, else the bottom.
      const uint32_t n = load(b.count);
      // Plus what the SLL holds above half its capacity: the idle count
      // is a lower bound, and alone it left busy classes' SLLs full
      // (random_mixed 16..32768: peak RSS 9.0 -> 10.8 MB).
      uint32_t idle = idle_blocks(b);
      if (n > b.cap / 2u && n - b.cap / 2u > idle) idle = n - b.cap / 2u;
      const uint32_t give = idle - idle / 4;
      if (give) {
        if (give <= n - give) return_sll_head(h, b, give, t);
        else back = cut_sll_after(b, n - give);
        if (L.fill > 1) L.fill /= 2;
      }
      // Quiet all interval (no pop, and no push: the count stayed put).
      if (b.pops == 0 && n == b.start && b.cap > kClasses.sll_cap[c])
        b.cap = uint16_t(b.cap / 2 > kClasses.sll_cap[c] ? b.cap / 2 : kClasses.sll_cap[c]);
      b.start = uint16_t(load(b.count));
      b.pops = L.pops_at_tick = 0;
    } else {
      back = b.head;
      b.head = nullptr;
      store(b.count, 0);
      b.start = b.pops = L.pops_at_tick = 0;
      spill = L.spill;
      L.spill = nullptr;
      store(L.spill_count, 0);
    }
    return_chain(h, back, t);
    return_chain(h, spill, t);
    if (t.blocks != before) drop(g_stats.class_used[c], t.blocks - before);
  }
  // A periodic drain gives back the slabs kept since the last one; any other
  // drain gives back everything, what it collects now included.
  if (idle_only) release_kept(h);
  collect_inbox(h);
  if (!idle_only) release_kept(h);
  bump(g_stats.drains);
  bump(g_stats.blocks_drained, t.blocks);
  h->events.frees(h->frees_since_drain);
  h->frees_since_drain = 0;
  // The drain is the slow path every thread that frees reaches: it runs the
  // purge passes of memory cached elsewhere (purge.h).
  purge_tick();
  if (!g_ring) return;
  const uint64_t now = event_ns();
  if (idle_only) {
    h->events.drain(HK_DRAIN_INTERVAL, t.blocks, t.emptied);
    h->events.log_if_due(now);
    snapshot_if_due(now);
  } else {
    h->events.log_explicit_drain(now, reason, t.blocks, t.emptied);
    // A thread's exit logs a snapshot set only when one is due: programs
    // that start threads by the thousand (larson: 2400) logged a set each.
    if (reason == HK_DRAIN_THREAD_EXIT) snapshot_if_due(now);
    else emit_snapshots();
  }
}


// Before the heap's footprint grows (the pool has no free slab in pages
// already faulted in), every other class that grew its SLL for a bulk and
// had no pop since the last periodic drain gives back its whole SLL: the
// program moved on from it. Classes at their first capacity keep theirs:
// a few scattered blocks empty no slab, and handing them back only churned
// slabs between classes until the big ones found no run of pages
// (random_mixed 16..32768: peak RSS 7.7 MB against 6.1 without).
// The idle window alone kept a finished phase's blocks parked for 16
// intervals, long enough for the next phase to fault in its own pages
// beside them (fixed_size_batches, each size in turn 1600 blocks at a
// time: peak RSS 4.0 MB, glibc's 2.7). Returns whether a slab went back to
// the pool. Drain off, nothing goes back: the seed's bug stays
// reproducible.
bool return_quiet(ThreadHeap* h, unsigned except) {
  if (!g_cfg.drain_interval) return false;
  Tally t;
  for (unsigned c = 0; c < kNumClasses; ++c) {
    Bin& b = h->bins[c];
    if (c == except || !load(b.count) || b.cap <= kClasses.sll_cap[c] || b.pops != h->cls[c].pops_at_tick)
      continue;
    void* back = b.head;
    b.head = nullptr;
    store(b.count, 0);
    b.start = b.pops;
    const uint64_t before = t.blocks;
    return_chain(h, back, t);
    drop(g_stats.class_used[c], t.blocks - before);
  }
  if (!t.blocks) return false;
  bump(g_stats.drains);
  bump(g_stats.blocks_drained, t.blocks);
  if (g_ring) h->events.log_explicit_drain(event_ns(), HK_DRAIN_QUIET, t.blocks, t.emptied);
  return t.emptied != 0;
}

// Refills h's SLL for cls and returns one block (the seed's slow path).
void* refill(ThreadHeap* h, unsigned cls) {
  Bin& b = h->bins[cls];
  ClassLists& L = h->cls[cls];
  if (h->inbox.load(std::memory_order_relaxed)) collect_inbox(h);
  if (g_ring && (++h->slow_calls & 63) == 0) snapshot_if_due(event_ns());
  const uint32_t want = L.fill;
  if (L.fill < b.cap / 2u) L.fill *= 2;
  L.refilled = true;
  if (L.spill) {
    // Drain off: parked blocks come back from the spill list, never from
    // the slabs, and the slabs never see them.
    void* first = L.spill;
    void** link = &L.spill;
    uint32_t got = 0;
    while (got < want && *link) {
      link = static_cast<void**>(*link);
      ++got;
    }
    L.spill = *link;
    *link = nullptr;
    store(L.spill_count, load(L.spill_count) - got);
    b.head = *static_cast<void**>(first);
    store(b.count, got - 1);
    return first;
  }
  Slab* s = L.partial;
  if (!s) {
    if ((s = L.kept)) {
      L.kept = s->next;
      --L.kept_count;
    } else if (!(s = pool_acquire_slab(h, cls, false)) &&
               !(return_quiet(h, cls) && (s = pool_acquire_slab(h, cls, false))) &&
               !(s = pool_acquire_slab(h, cls, true))) {
      errno = ENOMEM;
      return nullptr;
    }
    list_push(L.partial, s, kOnPartial);
  }
  void* head = nullptr;
  uint32_t got = 0;
  // A freelist that fits the SLL is handed over whole, without a walk: its
  // blocks went cold since they came back (a fill/free-all phase touched
  // megabytes in between), and walking them here was a chain of serial
  // cache misses, a third of refill's time in fill_free_all (perf). malloc
  // then meets each block's miss one at a time, overlapped with the
  // program's own work. More than `want` blocks is no cost in memory: only
  // this thread can hand out the free blocks of a slab it owns.
  if (const uint32_t listed = s->carved - s->used; listed && listed <= b.cap) {
    head = s->freelist;
    s->freelist = nullptr;
    got = listed;
  }
  while (got < want && s->freelist) {
    void* p = s->freelist;
    s->freelist = *static_cast<void**>(p);
    *static_cast<void**>(p) = head;
    head = p;
    ++got;
  }
  if (got < want && s->carved < s->capacity) {
    uint32_t n = s->capacity - s->carved;
    if (n > want - got) n = want - got;
    // Carve backwards so the SLL hands blocks out in address order.
    char* base = slab_base(s) + size_t(s->carved) * s->bsize;
    for (uint32_t i = n; i-- > 0;) {
      void* p = base + size_t(i) * s->bsize;
      link_free(p, head);
      head = p;
    }
    s->carved += n;
    got += n;
  }
  if (s->used == 0) bump(g_stats.slabs_nonempty);
  s->used += got;
  bump(g_stats.class_used[cls], got);
  if (!s->freelist && s->carved == s->capacity) {
    list_remove(L.partial, s);
    list_push(L.full, s, kOnFull);
  }
  b.head = *static_cast<void**>(head);
  store(b.count, got - 1);
  return head;
}

ThreadHeap* new_heap_locked() {
  if (ThreadHeap* h = g_free_heaps) {
    g_free_heaps = h->next;
    return h;
  }
  if (g_static_used < 2) return &g_static_heaps[g_static_used++];
  const size_t size = (sizeof(ThreadHeap) + 63) & ~size_t(63);
  if (g_heap_chunk_left < size) {
    const size_t chunk = 64 * 1024;
    g_heap_chunk = static_cast<char*>(os_map(chunk, HK_OS_METADATA));
    if (!g_heap_chunk) return nullptr;
    g_heap_chunk_left = chunk;
  }
  auto* h = reinterpret_cast<ThreadHeap*>(g_heap_chunk);
  g_heap_chunk += size;
  g_heap_chunk_left -= size;
  return h;
}

ThreadHeap* attach_heap() {
  ensure_init();
  ThreadCache& tc = t_tc;
  ThreadHeap* h;
  {
    Guard g(g_heaps_lock);
    h = new_heap_locked();
    if (!h) return nullptr;
    // A recycled heap keeps its inbox: blocks freed to it after its last
    // thread left are re-routed below.
    for (unsigned c = 0; c < kNumClasses; ++c) {
      h->cls[c].partial = h->cls[c].full = nullptr;
      h->cls[c].spill = nullptr;
      h->cls[c].kept = nullptr;
      h->cls[c].kept_count = 0;
      h->cls[c].fill = 1;
      h->cls[c].refilled = false;
      store(h->cls[c].spill_count, 0);
      tc.bins[c].head = nullptr;
      store(tc.bins[c].count, 0);
      tc.bins[c].cap = kClasses.sll_cap[c];
      tc.bins[c].pops = tc.bins[c].start = 0;
    }
    h->bins = tc.bins;
    h->tid = uint32_t(gettid());
    h->slow_calls = 0;
    h->frees_since_drain = 0;
    h->ticks_in_window = 0;
    h->events.reset();
    h->next = g_live;
    g_live = h;
    bump(g_stats.threads_alive);
    bump(g_stats.threads_started);
  }
  tc.tick_limit = g_cfg.drain_interval ? g_cfg.drain_interval : UINT32_MAX;
  tc.tick_left = tc.tick_limit;
  tc.free_key = g_free_key;
  tc.heap = h;
  register_thread_exit(h);
  collect_inbox(h);
  emit(HK_EV_THREAD_START, HK_CLASS_NONE, 0, uint64_t(getpid()), 0,
       g_stats.threads_alive.load(std::memory_order_relaxed));
  return h;
}

void* global_alloc(unsigned cls) {
  Guard g(g_global_lock);
  Bin& b = g_global_bins[cls];
  if (void* p = b.head) {
    expect_parked(p);
    b.head = *static_cast<void**>(p);
    store(b.count, load(b.count) - 1);
    return p;
  }
  return refill(&g_global_heap, cls);
}

void push_inbox(ThreadHeap* o, void* p) {
  void* head = o->inbox.load(std::memory_order_relaxed);
  do {
    *static_cast<void**>(p) = head;
  } while (!o->inbox.compare_exchange_weak(head, p, std::memory_order_release,
                                           std::memory_order_relaxed));
}

}  // namespace

void global_heap_init() {
  g_global_heap.bins = g_global_bins;
  for (unsigned c = 0; c < kNumClasses; ++c) {
    g_global_bins[c].cap = kClasses.sll_cap[c];
    g_global_heap.cls[c].fill = 1;
  }
}

namespace {

void* refill_or_attach(unsigned cls) {
  ThreadHeap* h = t_tc.heap;
  if (h == kNoHeap) {
    h = attach_heap();
    if (!h) return global_alloc(cls);
    return refill(h, cls);
  }
  if (h == kDeadHeap) return global_alloc(cls);
  return refill(h, cls);
}

}  // namespace

void* refill_and_alloc(unsigned cls) {
  auto* p = static_cast<uintptr_t*>(refill_or_attach(cls));
  if (!p) return nullptr;
  expect_parked(p);
  p[1] = 0;
  return p;
}

uintptr_t g_free_key;

void init_free_key() {
  // AT_RANDOM: 16 bytes the kernel put on the initial stack; no syscall.
  uintptr_t k = 0x9E3779B97F4A7C15ull;
  if (const auto* r = reinterpret_cast<const uintptr_t*>(getauxval(AT_RANDOM))) k ^= r[1];
  g_free_key = k | 1;  // never 0, which malloc writes
}

// A full SLL whose class refilled since its last overflow holds less than
// the bulk the program allocates and frees: it doubles, up to the class's
// maximum, instead of flushing. The periodic drain halves an SLL that saw
// no malloc and no free all interval, so a class that went quiet gives the
// room back.
// Callgrind, fixed_size_batches 60 1 (batches of 25..1600 blocks of one
// size, then free all): 125M -> 110M instructions with this (tcmalloc 105M,
// mimalloc 98M); peak RSS of the bench rows within 5%.
bool grow_sll(Bin& b, ClassLists& L, unsigned cls) {
  const bool cycling = L.refilled;
  L.refilled = false;
  const uint32_t max = kClasses.sll_cap_max[cls];
  if (b.cap >= max || !cycling) return false;
  b.cap = uint16_t(2u * b.cap < max ? 2u * b.cap : max);
  return true;
}

void free_overflow(void* p, Slab* s) {
  ErrnoKeeper keep;
  ThreadCache& tc = t_tc;
  ThreadHeap* h = tc.heap;
  Bin& b = tc.bins[s->cls];
  if (grow_sll(b, h->cls[s->cls], s->cls)) return push_local(&tc, p, s);
  // The most recently freed half goes: its blocks are still in cache, so
  // walking and returning them is cheap, where the older half is cold (a
  // fill/free-all phase touched megabytes since). tcmalloc releases from
  // the same end for the same reason.
  const uint32_t n = load(b.count) - b.cap / 2;
  if (g_cfg.drain_interval) {
    Tally t;
    return_sll_head(h, b, n, t);
    drop(g_stats.class_used[s->cls], t.blocks);
    bump(g_stats.overflow_flushes);
    bump(g_stats.blocks_drained, t.blocks);
    h->events.drain(HK_DRAIN_OVERFLOW, t.blocks, t.emptied);
  } else {
    void* back = cut_sll_head(b, n);
    ClassLists& L = h->cls[s->cls];
    void* last = back;
    while (*static_cast<void**>(last)) last = *static_cast<void**>(last);
    *static_cast<void**>(last) = L.spill;
    L.spill = back;
    store(L.spill_count, load(L.spill_count) + n);
    bump(g_stats.blocks_spilled, n);
  }
  push_local(&tc, p, s);  // the SLL is at half its capacity now
}

void drain_tick() {
  ErrnoKeeper keep;
  ThreadCache& tc = t_tc;
  ThreadHeap* h = tc.heap;
  h->frees_since_drain += ticks_elapsed(tc);
  tc.tick_left = tc.tick_limit;
  if (g_cfg.drain_interval) drain_heap(h, HK_DRAIN_INTERVAL);
}

void free_not_owned(void* p, Slab* s) {
  ErrnoKeeper keep;
  for (;;) {
    ThreadHeap* o = s->owner.load(std::memory_order_acquire);
    if (o != kUnowned) {
      if (!is_block_start(s, p)) invalid_free(p);
      push_inbox(o, p);
      bump(g_stats.remote_frees);
      return;
    }
    if (pool_free_unowned(s, p)) return;
  }
}

void invalid_free(const void* p) { fatal("free(): invalid pointer", p); }
// Raised where a block freed twice is met again (its next pop, or a drain
// returning it), not at the second free() itself (hot_path.h).
void double_free(const void* p) { fatal("double free detected: freed twice, then reused:", p); }

void drain_current_thread(hk_drain_reason reason) {
  ThreadCache& tc = t_tc;
  ThreadHeap* h = tc.heap;
  if (h == kNoHeap || h == kDeadHeap) return;
  h->frees_since_drain += ticks_elapsed(tc);
  tc.tick_left = tc.tick_limit;
  drain_heap(h, reason);
}

void log_event_backlog() {
  ThreadCache& tc = t_tc;
  if (!g_ring || tc.heap == kNoHeap || tc.heap == kDeadHeap) return;
  tc.heap->events.log(event_ns());
}

void collect_global_inbox() {
  Guard g(g_global_lock);
  collect_inbox(&g_global_heap);
}

// One pass over the thread heaps under one lock for every class: a drain
// logs a whole snapshot set, and a lock per class was most of its cost.
// The capacities let the analyzer tell a cache holding a bulk by design from
// blocks the accounting lost.
void parked_by_class(uint64_t (&parked)[kNumClasses], uint64_t (&cap)[kNumClasses]) {
  for (unsigned c = 0; c < kNumClasses; ++c) {
    parked[c] = load(g_global_bins[c].count);
    cap[c] = g_global_bins[c].cap;
  }
  Guard g(g_heaps_lock);
  for (ThreadHeap* h = g_live; h; h = h->next)
    for (unsigned c = 0; c < kNumClasses; ++c) {
      parked[c] += load(h->bins[c].count) + load(h->cls[c].spill_count);
      cap[c] += h->bins[c].cap;
    }
}

void emit_snapshots() {
  if (!g_ring) return;
  uint64_t parked[kNumClasses], cap[kNumClasses];
  parked_by_class(parked, cap);
  for (unsigned c = 0; c < kNumClasses; ++c) {
    const uint64_t used = g_stats.class_used[c].load(std::memory_order_relaxed);
    if (!used && !parked[c]) continue;
    emit(HK_EV_SNAPSHOT, uint8_t(c), 0, cap[c], class_size(c), used, parked[c],
         used > parked[c] ? used - parked[c] : 0);
  }
}

bool parked_by_current_thread(const void* p, unsigned cls) {
  ThreadCache& tc = t_tc;
  for (void* q = tc.bins[cls].head; q; q = *static_cast<void**>(q))
    if (q == p) return true;
  if (tc.heap == kNoHeap || tc.heap == kDeadHeap) return false;
  for (void* q = tc.heap->cls[cls].spill; q; q = *static_cast<void**>(q))
    if (q == p) return true;
  return false;
}

void thread_exit_flush(void* arg) {
  ThreadCache& tc = t_tc;
  auto* h = static_cast<ThreadHeap*>(arg);
  if (tc.heap != h) return;
  drain_current_thread(HK_DRAIN_THREAD_EXIT);
  // What is still used is live in other threads' hands: orphan those slabs
  // until their blocks come back or another thread adopts them.
  for (unsigned c = 0; c < kNumClasses; ++c) {
    ClassLists& L = h->cls[c];
    for (Slab** head : {&L.partial, &L.full}) {
      while (Slab* s = *head) {
        list_remove(*head, s);
        pool_orphan_slab(s);
      }
    }
  }
  // After this, the thread's frees take the unowned path and its mallocs the
  // global heap: nothing can bring this heap back to life.
  tc.heap = kDeadHeap;
  for (unsigned c = 0; c < kNumClasses; ++c)
    tc.bins[c].cap = tc.bins[c].pops = tc.bins[c].start = 0;
  collect_inbox(h);  // re-routes what arrived while orphaning
  if (g_ring) h->events.log(event_ns());
  {
    Guard g(g_heaps_lock);
    for (ThreadHeap** link = &g_live; *link; link = &(*link)->next) {
      if (*link == h) {
        *link = h->next;
        break;
      }
    }
    h->bins = nullptr;
    h->next = g_free_heaps;
    g_free_heaps = h;
    drop(g_stats.threads_alive);
  }
  emit(HK_EV_THREAD_EXIT, HK_CLASS_NONE, 0, uint64_t(getpid()), 0,
       g_stats.threads_alive.load(std::memory_order_relaxed));
}

void heaps_fork_prepare() {
  g_global_lock.lock();
  g_heaps_lock.lock();
}

void heaps_fork_parent() {
  g_heaps_lock.unlock();
  g_global_lock.unlock();
}

void heaps_fork_child() {
  g_heaps_lock.reinit();
  g_global_lock.reinit();
  // Threads other than this one do not exist in the child. Their heaps may
  // have been mid-update, so they are not walked: they are abandoned (never
  // recycled), their parked blocks leak, and frees into their slabs wait
  // in their inboxes. Nothing is corrupted; the child's own heap carries on.
  ThreadHeap* self = t_tc.heap;
  g_live = nullptr;
  uint64_t alive = 0;
  if (self != kNoHeap && self != kDeadHeap) {
    self->next = nullptr;
    self->tid = uint32_t(gettid());
    self->events.reset();  // the parent's, not the child's, to log
    g_live = self;
    alive = 1;
  }
  g_stats.threads_alive.store(alive, std::memory_order_relaxed);
}

}  // namespace hk
