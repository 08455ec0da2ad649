/* large_block_churn: a loop of malloc/free of a block too big for the
 * allocator's large-block cache.
 *
 *   large_block_churn [ITERS [MIB]]   defaults: 200 96
 *
 * With HAKMEM_LARGE_CACHE_ADAPTIVE=0, hakmem keeps freed large mappings in
 * a cache of a fixed HAKMEM_LARGE_CACHE_CAP bytes (64 MiB by default). A
 * block bigger than that is unmapped at every free and mapped again at the
 * next malloc: two syscalls and fresh page faults per iteration.
 * `hakmem-analyze report` names this large_block_churn. (glibc does the
 * same above its mmap threshold.) By default the cache grows to the peak
 * of live large bytes, and this loop reuses one mapping.
 */
#include "workload_common.h"

#include <string.h>

int main(int argc, char **argv) {
  const uint64_t iters = wl_arg(argc, argv, 1, 200, "ITERS");
  const uint64_t mib = wl_arg(argc, argv, 2, 96, "MIB");
  const size_t size = (size_t)mib << 20;
  uint64_t sum = 0;
  const double t0 = wl_now_seconds();
  for (uint64_t i = 0; i < iters; i++) {
    unsigned char *p = malloc(size);
    if (!p) wl_out_of_memory(argv[0], size);
    /* Touch one page at each end, as a real user of the buffer would. */
    p[0] = (unsigned char)i;
    p[size - 1] = (unsigned char)(i >> 8);
    sum += p[0] + p[size - 1];
    free(p);
  }
  const double seconds = wl_now_seconds() - t0;
  char params[96];
  snprintf(params, sizeof params, "iters=%llu mib=%llu sum=%llu", (unsigned long long)iters,
           (unsigned long long)mib, (unsigned long long)sum);
  wl_report("large_block_churn", params, 2 * iters, seconds);
  return 0;
}
