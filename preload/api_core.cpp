#include "api_core.h"

#include <stdint.h>
#include <string.h>

#include "hot_path.h"
#include "large_alloc.h"
#include "line_writer.h"
#include "lock.h"
#include "shared_pool.h"

namespace hk {

void* alloc_slow(size_t size) {
  bool fresh;
  return large_alloc(size, 0, &fresh);
}

void free_slow(void* p) {
  if (!p) return;
  if (registry_kind(p) == 0) invalid_free(p);
  ErrnoKeeper keep;
  if (!large_free(p)) invalid_free(p);
}

void* alloc_aligned(size_t align, size_t size) {
  if (align <= 16) return alloc(size);
  const size_t m = size > align ? size : align;
  // Every power of two up to kMaxSmall is a class, and its blocks sit at
  // multiples of their size from a slab aligned to kSlabSize (>= kMaxSmall):
  // naturally aligned.
  static_assert(kSlabSize >= kMaxSmall, "every class fits a slab, aligned to its power of two");
  if (m <= kMaxSmall) return pop_or_refill(size_to_class(size_t(1) << (64 - __builtin_clzll(m - 1))));
  bool fresh;
  return large_alloc(size, align, &fresh);
}

void* alloc_zeroed(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (total <= kMaxSmall) {
    void* p = alloc(total);
    if (p) memset(p, 0, total);
    return p;
  }
  bool fresh;
  void* p = large_alloc(total, 0, &fresh);
  if (p && !fresh) memset(p, 0, total);
  return p;
}

size_t usable_size(const void* p) {
  const uint8_t kind = registry_kind(p);
  if (kind == kRegSuperSlab) {
    const Slab* s = slab_head(slab_of(p));
    if (s->state == kSlabFree || !is_carved_block(s, p)) return 0;
    return s->bsize;
  }
  return kind ? large_usable(p) : 0;
}

void* realloc_block(void* p, size_t size) {
  if (!p) return alloc(size);
  if (size == 0) {  // glibc: free and return NULL
    free(p);
    return nullptr;
  }
  const size_t old = usable_size(p);
  if (!old) fatal("realloc(): invalid pointer", p);
  // In place while the block is what a new request of this size would get
  // (its class; a large block is cut down to it), so malloc_usable_size
  // after a shrink says what was asked, as glibc's does.
  if (size <= kMaxSmall ? size <= old && kClasses.size[size_to_class(size)] == old
                        : large_shrink(p, size))
    return p;
  void* q = alloc(size);
  if (!q) return nullptr;  // p stays valid
  memcpy(q, p, size < old ? size : old);
  free(p);
  return q;
}

int owns_live(const void* p) {
  const uint8_t kind = registry_kind(p);
  if (kind == 0) return 0;
  if (kind != kRegSuperSlab) return large_usable(p) != 0;
  Slab* s = slab_head(slab_of(p));
  auto on_freelist = [&] {
    for (void* q = s->freelist; q; q = *static_cast<void**>(q))
      if (q == p) return true;
    return false;
  };
  // Another thread's slab: its freelist and cache cannot be looked into.
  auto carved_by_other = [&] { return is_carved_block(s, p); };
  ThreadHeap* owner = s->owner.load(std::memory_order_acquire);
  if (owner == t_tc.heap) {
    if (!is_carved_block(s, p)) return 0;
    return !on_freelist() && !parked_by_current_thread(p, s->cls);
  }
  if (owner != kUnowned) return carved_by_other();
  Guard g(g_pool_lock);
  // A thread may have adopted the orphan between the load above and this
  // lock (adoption holds it): the slab is then active, live blocks and all,
  // and only its new owner may read its freelist.
  if (s->owner.load(std::memory_order_relaxed) != kUnowned) return carved_by_other();
  if (s->state != kSlabOrphan || !is_carved_block(s, p)) return 0;
  return !on_freelist();
}

bool trim() {
  drain_current_thread(HK_DRAIN_TRIM);
  collect_global_inbox();
  return pool_trim() + large_trim() > 0;
}

}  // namespace hk
