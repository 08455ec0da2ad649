#include "os_memory.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "event_ring.h"
#include "stats.h"

namespace hk {

namespace {

uint64_t as_u64(const void* p) { return uint64_t(reinterpret_cast<uintptr_t>(p)); }

void count_mapped(size_t len) {
  const uint64_t now = g_stats.mapped_bytes.fetch_add(len, std::memory_order_relaxed) + len;
  uint64_t peak = g_stats.peak_mapped_bytes.load(std::memory_order_relaxed);
  while (now > peak &&
         !g_stats.peak_mapped_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void* map_and_log(void* hint, size_t len, int prot, int flags, int fd, hk_os_reason reason) {
  void* p = mmap(hint, len, prot, flags, fd, 0);
  const int err = errno;
  bump(g_stats.os_mmaps);
  if (p == MAP_FAILED) {
    emit(HK_EV_OS_MMAP, HK_CLASS_NONE, uint8_t(reason), as_u64(hint), len,
         uint64_t(-int64_t(err)));
    errno = err;
    return nullptr;
  }
  count_mapped(len);
  emit(HK_EV_OS_MMAP, HK_CLASS_NONE, uint8_t(reason), as_u64(p), len, as_u64(p));
  return p;
}

}  // namespace

void* os_map(size_t len, hk_os_reason reason) {
  return map_and_log(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                     reason);
}

void* os_map_at(void* hint, size_t len, hk_os_reason reason) {
  void* p = map_and_log(hint, len, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, reason);
  // Kernels before 4.17 treat the flag as a plain hint; never keep a
  // mapping that landed elsewhere.
  if (p && p != hint) {
    os_unmap(p, len, reason);
    return nullptr;
  }
  return p;
}

void* os_map_file(size_t len, int fd, hk_os_reason reason) {
  return map_and_log(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, reason);
}

int os_unmap(void* p, size_t len, hk_os_reason reason) {
  const int rc = munmap(p, len);
  const int err = errno;
  bump(g_stats.os_munmaps);
  if (rc == 0) drop(g_stats.mapped_bytes, len);
  emit(HK_EV_OS_MUNMAP, HK_CLASS_NONE, uint8_t(reason), as_u64(p), len,
       rc == 0 ? 0 : uint64_t(-int64_t(err)));
  errno = err;
  return rc;
}

int os_advise(void* p, size_t len, int advice, hk_os_reason reason) {
  const int rc = madvise(p, len, advice);
  const int err = errno;
  bump(g_stats.os_madvises);
  emit(HK_EV_OS_MADVISE, HK_CLASS_NONE, uint8_t(reason), as_u64(p), len,
       rc == 0 ? 0 : uint64_t(-int64_t(err)), uint64_t(advice));
  errno = err;
  return rc;
}

}  // namespace hk
