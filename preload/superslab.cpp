#include "superslab.h"

#include "event_ring.h"
#include "os_memory.h"
#include "registry.h"
#include "stats.h"

namespace hk {

namespace {
char* g_next_hint;  // where the next SuperSlab would land aligned (pool lock)
}  // namespace

// One syscall when the slot just below the previous SuperSlab is free (the
// kernel hands out addresses top-down), else map twice the size and trim.
SuperSlab* superslab_map() {
  char* p = nullptr;
  if (g_next_hint) p = static_cast<char*>(os_map_at(g_next_hint, kSsSize, HK_OS_SUPERSLAB));
  if (!p) {
    const size_t len = 2 * kSsSize;
    char* raw = static_cast<char*>(os_map(len, HK_OS_SUPERSLAB));
    if (!raw) return nullptr;
    p = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(raw) + kSsSize - 1) & ~(kSsSize - 1));
    if (p > raw) os_unmap(raw, size_t(p - raw), HK_OS_ALIGN_TRIM);
    if (raw + len > p + kSsSize) os_unmap(p + kSsSize, size_t(raw + len - (p + kSsSize)), HK_OS_ALIGN_TRIM);
  }
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  g_next_hint = a > 2 * kSsSize ? p - kSsSize : nullptr;
  if ((a >> kSsShift) >= kRegEntries) {
    // Outside the registry's reach (only with 5-level paging hints): unusable.
    os_unmap(p, kSsSize, HK_OS_SUPERSLAB);
    return nullptr;
  }
  auto* ss = reinterpret_cast<SuperSlab*>(p);
  ss->magic = kSsMagic;
  ss->free_mask = kDataSlabMask;
  for (unsigned i = 0; i < kSlabsPerSs; ++i) {
    ss->slabs[i].idx = uint8_t(i);
    ss->slabs[i].cls = uint8_t(HK_CLASS_NONE);
    ss->slabs[i].owner.store(kUnowned, std::memory_order_relaxed);
  }
  registry_set_superslab(ss, true);
  bump(g_stats.ss_maps);
  bump(g_stats.ss_mapped);
  emit(HK_EV_SS_MAP, HK_CLASS_NONE, HK_SS_NEW, a, kSsSize, g_stats.ss_mapped.load());
  return ss;
}

void superslab_unmap(SuperSlab* ss, hk_ss_reason reason) {
  registry_set_superslab(ss, false);
  drop(g_stats.ss_mapped);
  bump(g_stats.ss_unmaps);
  os_unmap(ss, kSsSize, HK_OS_SUPERSLAB);
  emit(HK_EV_SS_UNMAP, HK_CLASS_NONE, uint8_t(reason), addr(ss), kSsSize,
       g_stats.ss_mapped.load());
}

}  // namespace hk
