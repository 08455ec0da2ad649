/* superslab_churn: a working set larger than the SuperSlab LRU cache.
 *
 *   superslab_churn [ROUNDS [MIB [MIN MAX]]]   defaults: 30 48 16 1040
 *
 * Each round fills MIB MiB with small objects (sizes MIN..MAX) and frees
 * them all. (One size keeps a recording small: fewer classes, fewer
 * snapshots per drain.) With the drain on (the default), slabs empty and their
 * SuperSlabs go into the LRU cache; but the cache holds HAKMEM_SS_LRU_CAP
 * SuperSlabs (16 x 2 MiB by default), so the rest are unmapped and mapped
 * again by the next round moments later: `hakmem-analyze report` names this
 * superslab_churn. HAKMEM_SS_LRU_CAP=0 makes every SuperSlab churn.
 */
#include "workload_common.h"

#include <string.h>

int main(int argc, char **argv) {
  const uint64_t rounds = wl_arg(argc, argv, 1, 30, "ROUNDS");
  const uint64_t mib = wl_arg(argc, argv, 2, 48, "MIB");
  const size_t lo = wl_arg(argc, argv, 3, 16, "MIN");
  const size_t hi = wl_arg(argc, argv, 4, 1040, "MAX");
  wl_check_sizes(argv[0], lo, hi);
  const uint64_t max_objs = mib * 1024 * 1024 / lo + 1;
  unsigned char **objs = malloc(max_objs * sizeof *objs);
  if (!objs) wl_out_of_memory(argv[0], max_objs * sizeof *objs);
  uint64_t rng = 1234567;
  uint64_t ops = 0;
  const double t0 = wl_now_seconds();
  for (uint64_t r = 0; r < rounds; r++) {
    uint64_t n = 0, bytes = 0;
    while (bytes < mib * 1024 * 1024 && n < max_objs) {
      const size_t size = wl_rand_between(&rng, lo, hi);
      unsigned char *p = malloc(size);
      if (!p) wl_out_of_memory(argv[0], size);
      p[0] = p[size - 1] = (unsigned char)r;
      objs[n++] = p;
      bytes += size;
    }
    for (uint64_t i = 0; i < n; i++) free(objs[i]);
    ops += 2 * n;
  }
  const double seconds = wl_now_seconds() - t0;
  free(objs);
  char params[96];
  snprintf(params, sizeof params, "rounds=%llu mib=%llu", (unsigned long long)rounds,
           (unsigned long long)mib);
  wl_report("superslab_churn", params, ops, seconds);
  return 0;
}
