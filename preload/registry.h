// Registry of the address space hakmem manages, one byte per kSsSize chunk.
//
// Contract: free() and friends ask the registry before touching a pointer,
// so a foreign pointer is never dereferenced blindly. A chunk's byte is
// kRegSuperSlab while a SuperSlab is mapped there (written under the pool
// lock), or the number of large mappings overlapping it (written under the
// large lock), or 0. Readers read racily; a correct program never frees
// into a chunk that is changing. The map is a zero-filled .bss array: pages
// are touched lazily, and only where hakmem maps memory.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "superslab.h"

namespace hk {

constexpr unsigned kUserAddrBits = 47;
constexpr size_t kRegEntries = size_t(1) << (kUserAddrBits - kSsShift);
constexpr uint8_t kRegSuperSlab = 0xFF;

extern uint8_t g_registry[kRegEntries];

inline uint8_t registry_kind(const void* p) {
  const uintptr_t i = reinterpret_cast<uintptr_t>(p) >> kSsShift;
  return i < kRegEntries ? __atomic_load_n(&g_registry[i], __ATOMIC_RELAXED) : 0;
}

void registry_set_superslab(const SuperSlab* ss, bool mapped);
// Adds (delta=+1) or removes (-1) one large mapping over [base, base+len).
void registry_add_large(uintptr_t base, size_t len, int delta);
// One large mapping becomes two cut at `at` (delta=+1), or two that meet
// there become one (-1): only a chunk holding both sides of `at` changes.
void registry_cut_large(uintptr_t at, int delta);

}  // namespace hk
