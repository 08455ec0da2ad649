/* fill_free_all: rounds of "allocate N mixed small objects, free them all".
 *
 *   fill_free_all [ROUNDS [N [SEED]]]
 *   defaults:      40 20000 1234567   (sizes 16..1040, well under a second)
 *
 * Each round fills N slots with malloc(16..1040), writing the first and last
 * byte, then frees all of them in allocation order. After every round the
 * program holds nothing, so an allocator whose slab accounting is true can
 * empty its slabs and cache or return its SuperSlabs; one whose thread
 * cache hides freed blocks from the slabs (the seed's Phase 9 bug, or
 * hakmem with HAKMEM_TLS_SLL_DRAIN_INTERVAL=0) keeps them pinned.
 * Prints: fill_free_all: rounds=.. n=.. seed=.. ops=2*ROUNDS*N seconds=X ops/s=N
 */
#include "workload_common.h"

int main(int argc, char **argv) {
  const uint64_t rounds = wl_arg(argc, argv, 1, 40, "ROUNDS");
  const uint64_t n = wl_arg(argc, argv, 2, 20000, "N");
  const uint64_t seed = wl_arg(argc, argv, 3, 1234567, "SEED");
  if (n == 0) {
    fprintf(stderr, "%s: N must be positive\n", argv[0]);
    return 2;
  }
  unsigned char **objs = malloc(n * sizeof *objs);
  if (!objs) wl_out_of_memory(argv[0], n * sizeof *objs);
  uint64_t rng = seed;

  const double t0 = wl_now_seconds();
  for (uint64_t r = 0; r < rounds; r++) {
    for (uint64_t i = 0; i < n; i++) {
      const size_t size = wl_rand_between(&rng, 16, 1040);
      unsigned char *p = malloc(size);
      if (!p) wl_out_of_memory(argv[0], size);
      p[0] = (unsigned char)r;
      p[size - 1] = (unsigned char)r;
      objs[i] = p;
    }
    for (uint64_t i = 0; i < n; i++) free(objs[i]);
  }
  const double seconds = wl_now_seconds() - t0;

  free(objs);
  char params[128];
  snprintf(params, sizeof params, "rounds=%llu n=%llu seed=%llu", (unsigned long long)rounds,
           (unsigned long long)n, (unsigned long long)seed);
  wl_report("fill_free_all", params, 2 * rounds * n, seconds);
  return 0;
}
