/* bench_random_mixed: the seed's workload (the one whose LRU never filled).
 *
 *   bench_random_mixed [ITERS [WS [SEED [MIN MAX]]]]
 *   defaults:           200000 4096 1234567 16 1040
 *
 * A slot array of WS pointers. Each iteration picks a random slot: an
 * occupied slot is freed, an empty one gets malloc(MIN..MAX), whose first and
 * last bytes are written. At the end every slot is freed. Plain malloc/free,
 * so any allocator can be preloaded under it. Only the loop is timed.
 * Prints: bench_random_mixed: iters=.. ws=.. seed=.. ops=ITERS seconds=X ops/s=N
 */
#include "workload_common.h"

int main(int argc, char **argv) {
  const uint64_t iters = wl_arg(argc, argv, 1, 200000, "ITERS");
  const uint64_t ws = wl_arg(argc, argv, 2, 4096, "WS");
  const uint64_t seed = wl_arg(argc, argv, 3, 1234567, "SEED");
  const size_t min = (size_t)wl_arg(argc, argv, 4, 16, "MIN");
  const size_t max = (size_t)wl_arg(argc, argv, 5, 1040, "MAX");
  wl_check_sizes(argv[0], min, max);
  if (ws == 0) {
    fprintf(stderr, "%s: WS must be positive\n", argv[0]);
    return 2;
  }
  unsigned char **slots = calloc(ws, sizeof *slots);
  if (!slots) wl_out_of_memory(argv[0], ws * sizeof *slots);
  uint64_t rng = seed;

  const double t0 = wl_now_seconds();
  for (uint64_t i = 0; i < iters; i++) {
    const uint64_t r = wl_rand(&rng);
    const uint64_t idx = r % ws;
    if (slots[idx]) {
      free(slots[idx]);
      slots[idx] = NULL;
    } else {
      const size_t size = min + (size_t)((r >> 32) % (max - min + 1));
      unsigned char *p = malloc(size);
      if (!p) wl_out_of_memory(argv[0], size);
      p[0] = (unsigned char)i;
      p[size - 1] = (unsigned char)i;
      slots[idx] = p;
    }
  }
  const double seconds = wl_now_seconds() - t0;

  for (uint64_t i = 0; i < ws; i++) free(slots[i]);
  free(slots);
  char params[128];
  snprintf(params, sizeof params, "iters=%llu ws=%llu seed=%llu", (unsigned long long)iters,
           (unsigned long long)ws, (unsigned long long)seed);
  wl_report("bench_random_mixed", params, iters, seconds);
  return 0;
}
