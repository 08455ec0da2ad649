// The exported C allocation symbols: glibc's malloc family, its __libc_*
// aliases and its introspection calls, with glibc's edge-case behaviour.
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "api_core.h"
#include "hot_path.h"
#include "stats.h"

#define HK_API extern "C" __attribute__((visibility("default")))

namespace {

constexpr size_t kPage = 4096;

bool is_pow2(size_t a) { return a && (a & (a - 1)) == 0; }

int clamp_int(uint64_t v) { return v > uint64_t(INT32_MAX) ? INT32_MAX : int(v); }

void* memalign_impl(size_t align, size_t size) {
  // glibc's memalign rounds a non-power-of-two alignment up.
  if (!is_pow2(align)) {
    if (align > (SIZE_MAX >> 1)) {
      errno = EINVAL;
      return nullptr;
    }
    size_t a = 1;
    while (a < align) a <<= 1;
    align = a;
  }
  return hk::alloc_aligned(align, size);
}

template <typename Info>
Info fill_mallinfo() {
  Info mi{};
  uint64_t used_bytes = 0;
  for (unsigned c = 0; c < hk::kNumClasses; ++c)
    used_bytes += hk::g_stats.class_used[c].load(std::memory_order_relaxed) * hk::class_size(c);
  const uint64_t mapped = hk::g_stats.mapped_bytes.load(std::memory_order_relaxed);
  using F = decltype(mi.arena);
  auto cv = [](uint64_t v) -> F {
    if constexpr (sizeof(F) == sizeof(int)) return clamp_int(v);
    else return F(v);
  };
  mi.arena = cv(hk::g_stats.ss_mapped.load(std::memory_order_relaxed) * hk::kSsSize);
  mi.hblkhd = cv(mapped);
  mi.uordblks = cv(used_bytes);
  mi.fordblks = cv(mapped > used_bytes ? mapped - used_bytes : 0);
  mi.keepcost = cv(hk::g_stats.large_cached_bytes.load(std::memory_order_relaxed));
  return mi;
}

}  // namespace

HK_API void* malloc(size_t size) noexcept { return hk::alloc(size); }
HK_API void free(void* p) noexcept { hk::free(p); }
HK_API void cfree(void* p) noexcept { hk::free(p); }
HK_API void* calloc(size_t n, size_t size) noexcept { return hk::alloc_zeroed(n, size); }
HK_API void* realloc(void* p, size_t size) noexcept { return hk::realloc_block(p, size); }

HK_API void* reallocarray(void* p, size_t n, size_t size) noexcept {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return hk::realloc_block(p, total);
}

HK_API int posix_memalign(void** out, size_t align, size_t size) noexcept {
  if (!is_pow2(align) || align % sizeof(void*) != 0) return EINVAL;
  const int saved = errno;
  void* p = hk::alloc_aligned(align, size);
  if (!p) {
    errno = saved;
    return ENOMEM;
  }
  *out = p;
  return 0;
}

HK_API void* aligned_alloc(size_t align, size_t size) noexcept {
  if (!is_pow2(align)) {
    errno = EINVAL;
    return nullptr;
  }
  return hk::alloc_aligned(align, size);
}

HK_API void* memalign(size_t align, size_t size) noexcept { return memalign_impl(align, size); }
HK_API void* valloc(size_t size) noexcept { return hk::alloc_aligned(kPage, size); }

HK_API void* pvalloc(size_t size) noexcept {
  if (size > SIZE_MAX - kPage) {
    errno = ENOMEM;
    return nullptr;
  }
  const size_t rounded = size ? (size + kPage - 1) & ~(kPage - 1) : kPage;
  return hk::alloc_aligned(kPage, rounded);
}

HK_API size_t malloc_usable_size(void* p) noexcept { return p ? hk::usable_size(p) : 0; }

HK_API int mallopt(int, int) noexcept { return 1; }

HK_API struct mallinfo mallinfo(void) noexcept { return fill_mallinfo<struct mallinfo>(); }
HK_API struct mallinfo2 mallinfo2(void) noexcept { return fill_mallinfo<struct mallinfo2>(); }

HK_API int malloc_trim(size_t) noexcept { return hk::trim() ? 1 : 0; }

HK_API void malloc_stats(void) noexcept { hk::print_stats(); }

HK_API int malloc_info(int options, FILE* fp) noexcept {
  if (options != 0) return EINVAL;
  const auto& s = hk::g_stats;
  auto get = [](const std::atomic<uint64_t>& c) {
    return (unsigned long long)c.load(std::memory_order_relaxed);
  };
  fprintf(fp,
          "<malloc version=\"hakmem-1\">\n"
          "<superslabs mapped=\"%llu\" maps=\"%llu\" unmaps=\"%llu\"/>\n"
          "<lru pushes=\"%llu\" pop_hits=\"%llu\" pop_misses=\"%llu\" evictions=\"%llu\"/>\n"
          "<large maps=\"%llu\" unmaps=\"%llu\" reuses=\"%llu\" cached=\"%llu\"/>\n"
          "<system type=\"current\" size=\"%llu\"/>\n"
          "<system type=\"max\" size=\"%llu\"/>\n"
          "</malloc>\n",
          get(s.ss_mapped), get(s.ss_maps), get(s.ss_unmaps), get(s.lru_pushes),
          get(s.lru_pop_hits), get(s.lru_pop_misses), get(s.lru_evictions), get(s.large_maps),
          get(s.large_unmaps), get(s.large_reuses), get(s.large_cached_bytes),
          get(s.mapped_bytes), get(s.peak_mapped_bytes));
  return 0;
}

// glibc's internal names, which some programs and libraries call directly.
HK_API void* __libc_malloc(size_t size) noexcept { return hk::alloc(size); }
HK_API void __libc_free(void* p) noexcept { hk::free(p); }
HK_API void* __libc_calloc(size_t n, size_t size) noexcept { return hk::alloc_zeroed(n, size); }
HK_API void* __libc_realloc(void* p, size_t size) noexcept { return hk::realloc_block(p, size); }
HK_API void* __libc_memalign(size_t align, size_t size) noexcept { return memalign_impl(align, size); }
HK_API void* __libc_valloc(size_t size) noexcept { return valloc(size); }
HK_API void* __libc_pvalloc(size_t size) noexcept { return pvalloc(size); }
HK_API int __libc_mallopt(int, int) noexcept { return 1; }
HK_API struct mallinfo __libc_mallinfo(void) noexcept { return fill_mallinfo<struct mallinfo>(); }
HK_API int __posix_memalign(void** out, size_t align, size_t size) noexcept {
  return posix_memalign(out, align, size);
}
