#include "registry.h"

namespace hk {

alignas(4096) uint8_t g_registry[kRegEntries];

void registry_set_superslab(const SuperSlab* ss, bool mapped) {
  const uintptr_t i = reinterpret_cast<uintptr_t>(ss) >> kSsShift;
  __atomic_store_n(&g_registry[i], mapped ? kRegSuperSlab : uint8_t(0), __ATOMIC_RELEASE);
}

void registry_add_large(uintptr_t base, size_t len, int delta) {
  for (uintptr_t i = base >> kSsShift; i <= (base + len - 1) >> kSsShift; ++i)
    __atomic_store_n(&g_registry[i], uint8_t(g_registry[i] + delta), __ATOMIC_RELEASE);
}

void registry_cut_large(uintptr_t at, int delta) {
  const uintptr_t i = at >> kSsShift;
  if ((at - 1) >> kSsShift == i)
    __atomic_store_n(&g_registry[i], uint8_t(g_registry[i] + delta), __ATOMIC_RELEASE);
}

}  // namespace hk
