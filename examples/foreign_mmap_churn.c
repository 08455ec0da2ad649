/* foreign_mmap_churn: the program maps and unmaps a scratch buffer for
 * every request, bypassing the allocator.
 *
 *   foreign_mmap_churn [REQUESTS]   default: 500
 *
 * Each call of handle_request() mmaps 1 MiB, uses a page of it and unmaps
 * it: two syscalls and a page fault per request, which no allocator can
 * cache. `hakmem-analyze report` names this foreign_mmap_churn and points
 * at handle_request as the call site (symbolized when the recording kept
 * the process's maps).
 */
#include "workload_common.h"

#include <string.h>
#include <sys/mman.h>

__attribute__((noinline)) static uint64_t handle_request(uint64_t id) {
  const size_t len = (size_t)1 << 20;
  unsigned char *scratch = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (scratch == MAP_FAILED) wl_out_of_memory("foreign_mmap_churn", len);
  memset(scratch, (int)(id & 0xff), 4096);
  const uint64_t v = scratch[id % 4096];
  munmap(scratch, len);
  return v;
}

int main(int argc, char **argv) {
  const uint64_t requests = wl_arg(argc, argv, 1, 500, "REQUESTS");
  uint64_t sum = 0;
  const double t0 = wl_now_seconds();
  for (uint64_t i = 0; i < requests; i++) sum += handle_request(i);
  const double seconds = wl_now_seconds() - t0;
  char params[64];
  snprintf(params, sizeof params, "requests=%llu sum=%llu", (unsigned long long)requests,
           (unsigned long long)sum);
  wl_report("foreign_mmap_churn", params, requests, seconds);
  return 0;
}
