/* mt_mixed_sizes: many threads, each replacing random blocks of a private
 * working set with new ones of mixed sizes, in the shape of alloc-test's
 * multi-threaded rounds (written here from its description, not copied).
 *
 *   mt_mixed_sizes THREADS ITERS WS SEED
 *
 * ITERS is per thread. Each step picks one of the thread's WS slots, frees
 * its block and allocates one of a new size: log-uniform from 8 bytes to
 * 16 KiB (a power-of-two band picked uniformly, then a size inside it), so
 * small blocks dominate by count and the medium classes still see steady
 * traffic. The block's first and last bytes are written. Unlike
 * bench_mt_random_mixed (uniform sizes, slots half empty) every step is a
 * free and a malloc, and the size mix spans three orders of magnitude.
 * All threads start together; the clock stops when the last one is done.
 *
 * Prints: mt_mixed_sizes: ... ops=N seconds=X ops/s=N
 */
#include <pthread.h>

#include "workload_common.h"

enum { MIN_SHIFT = 3, MAX_SHIFT = 14 };

struct worker {
  pthread_t thread;
  uint64_t iters, ws, seed;
  pthread_barrier_t *start;
};

static size_t pick_size(uint64_t *rng) {
  const unsigned shift = MIN_SHIFT + (unsigned)(wl_rand(rng) % (MAX_SHIFT - MIN_SHIFT));
  return wl_rand_between(rng, (size_t)1 << shift, ((size_t)2 << shift) - 1);
}

static void *run(void *arg) {
  struct worker *w = arg;
  unsigned char **slots = calloc(w->ws, sizeof *slots);
  if (!slots) wl_out_of_memory("mt_mixed_sizes", w->ws * sizeof *slots);
  uint64_t rng = w->seed;
  pthread_barrier_wait(w->start);
  for (uint64_t i = 0; i < w->iters; i++) {
    const size_t k = wl_rand(&rng) % w->ws, size = pick_size(&rng);
    free(slots[k]);
    unsigned char *p = malloc(size);
    if (!p) wl_out_of_memory("mt_mixed_sizes", size);
    p[0] = (unsigned char)i;
    p[size - 1] = (unsigned char)k;
    slots[k] = p;
  }
  for (uint64_t k = 0; k < w->ws; k++) free(slots[k]);
  free(slots);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s THREADS ITERS WS SEED\n", argv[0]);
    return 2;
  }
  const uint64_t threads = wl_arg(argc, argv, 1, 0, "THREADS");
  const uint64_t iters = wl_arg(argc, argv, 2, 0, "ITERS");
  const uint64_t ws = wl_arg(argc, argv, 3, 0, "WS");
  const uint64_t seed = wl_arg(argc, argv, 4, 0, "SEED");
  if (threads == 0 || threads > 1024 || ws == 0) {
    fprintf(stderr, "%s: need 1 <= THREADS <= 1024 and WS >= 1\n", argv[0]);
    return 2;
  }
  struct worker *workers = calloc(threads, sizeof *workers);
  if (!workers) wl_out_of_memory(argv[0], threads * sizeof *workers);
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
  for (uint64_t t = 0; t < threads; t++) {
    workers[t] = (struct worker){.iters = iters, .ws = ws,
                                 .seed = seed ^ ((t + 1) * 0x9e3779b97f4a7c15ull),
                                 .start = &start};
    if (pthread_create(&workers[t].thread, NULL, run, &workers[t]) != 0) {
      fprintf(stderr, "%s: pthread_create failed\n", argv[0]);
      return 1;
    }
  }
  pthread_barrier_wait(&start);
  const double t0 = wl_now_seconds();
  for (uint64_t t = 0; t < threads; t++) pthread_join(workers[t].thread, NULL);
  const double seconds = wl_now_seconds() - t0;
  free(workers);
  char params[128];
  snprintf(params, sizeof params, "threads=%llu iters=%llu ws=%llu seed=%llu",
           (unsigned long long)threads, (unsigned long long)iters, (unsigned long long)ws,
           (unsigned long long)seed);
  wl_report("mt_mixed_sizes", params, 2 * threads * iters, seconds);
  return 0;
}
