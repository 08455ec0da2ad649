// Helpers for the API tests that run with libhakmem.so as the process's
// allocator (hk_api_test links the `hakmem` target, whose DT_NEEDED entry puts
// it ahead of libc in symbol lookup).
//
// Contract: every API test checks that the block it got is hakmem's
// (hakmem_owns), so that a test which would also pass on glibc fails when
// hakmem is not the allocator. The opaque*() helpers hide values from the
// optimiser: GCC knows malloc's semantics and would otherwise fold away a
// malloc/free pair, warn about a constant impossible size, or refuse to
// compile a free of a stack address. Test-thread only.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>

#include <hakmem/hakmem.h>

namespace hk_test {

template <class T>
inline T opaque(T v) {
  asm volatile("" : "+r"(v));
  return v;
}

inline bool aligned_to(const void* p, std::size_t alignment) {
  return (reinterpret_cast<std::uintptr_t>(p) & (alignment - 1)) == 0;
}

// Fills [p, p+n) with a pattern derived from seed; check_pattern() verifies it.
inline void fill_pattern(void* p, std::size_t n, std::uint32_t seed) {
  auto* b = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>((i * 131u + seed) >> 1);
}

// Returns the first offset that differs from the pattern, or n if none does.
inline std::size_t check_pattern(const void* p, std::size_t n, std::uint32_t seed) {
  auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != static_cast<unsigned char>((i * 131u + seed) >> 1)) return i;
  return n;
}

// This process's VmSize and RSS in bytes (/proc/self/statm), 0 if unreadable.
struct Footprint {
  std::size_t vm, rss;
};
inline Footprint footprint() {
  unsigned long vm = 0, rss = 0;
  if (FILE* in = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(in, "%lu %lu", &vm, &rss) != 2) vm = rss = 0;
    std::fclose(in);
  }
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return {vm * page, rss * page};
}

}  // namespace hk_test
