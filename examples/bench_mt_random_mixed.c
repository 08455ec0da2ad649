/* bench_mt_random_mixed: bench_random_mixed's loop in THREADS threads at
 * once. Each thread owns its slots and its own PRNG stream, so all frees are
 * local; what is measured is how the allocator scales when several thread
 * caches run side by side (and contend for the shared pool on refills).
 *
 *   bench_mt_random_mixed THREADS ITERS WS SEED [MIN MAX]
 *
 * ITERS is per thread. Each iteration picks a random slot; an occupied slot
 * is freed, an empty one gets malloc(MIN..MAX) with its first and last bytes
 * written, exactly as in bench_random_mixed. Only the loop is timed: all
 * threads start together and the clock stops when the last one finishes.
 * Prints: bench_mt_random_mixed: ... ops=THREADS*ITERS seconds=X ops/s=N
 */
#include <pthread.h>

#include "workload_common.h"

struct worker {
  pthread_t thread;
  uint64_t iters, ws, seed;
  size_t min, max;
  pthread_barrier_t *start, *stop;
};

static void *run(void *arg) {
  struct worker *w = arg;
  unsigned char **slots = calloc(w->ws, sizeof *slots);
  if (!slots) wl_out_of_memory("bench_mt_random_mixed", w->ws * sizeof *slots);
  uint64_t rng = w->seed;

  pthread_barrier_wait(w->start);
  for (uint64_t i = 0; i < w->iters; i++) {
    uint64_t r = wl_rand(&rng);
    uint64_t idx = r % w->ws;
    if (slots[idx]) {
      free(slots[idx]);
      slots[idx] = NULL;
    } else {
      size_t size = w->min + (size_t)((r >> 32) % (w->max - w->min + 1));
      unsigned char *p = malloc(size);
      if (!p) wl_out_of_memory("bench_mt_random_mixed", size);
      p[0] = (unsigned char)i;
      p[size - 1] = (unsigned char)i;
      slots[idx] = p;
    }
  }
  pthread_barrier_wait(w->stop);

  for (uint64_t i = 0; i < w->ws; i++) free(slots[i]);
  free(slots);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 7) {
    fprintf(stderr, "usage: %s THREADS ITERS WS SEED [MIN MAX]\n", argv[0]);
    return 2;
  }
  uint64_t threads = wl_arg(argc, argv, 1, 0, "THREADS");
  uint64_t iters = wl_arg(argc, argv, 2, 0, "ITERS");
  uint64_t ws = wl_arg(argc, argv, 3, 0, "WS");
  uint64_t seed = wl_arg(argc, argv, 4, 0, "SEED");
  size_t min = wl_arg(argc, argv, 5, 16, "MIN");
  size_t max = wl_arg(argc, argv, 6, 1040, "MAX");
  wl_check_sizes(argv[0], min, max);
  if (threads == 0 || threads > 1024 || ws == 0) {
    fprintf(stderr, "%s: need 1 <= THREADS <= 1024 and WS >= 1\n", argv[0]);
    return 2;
  }

  struct worker *workers = calloc(threads, sizeof *workers);
  if (!workers) wl_out_of_memory(argv[0], threads * sizeof *workers);
  pthread_barrier_t start, stop;
  pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
  pthread_barrier_init(&stop, NULL, (unsigned)threads + 1);
  for (uint64_t t = 0; t < threads; t++) {
    /* Reproducible per-thread streams: distinct, scattered start points on
     * splitmix64's single 2^64-step cycle, so two threads' runs never overlap
     * in practice. */
    workers[t] = (struct worker){.iters = iters, .ws = ws,
                                 .seed = seed ^ (t * 0xd1b54a32d192ed03ULL),
                                 .min = min, .max = max, .start = &start, .stop = &stop};
    if (pthread_create(&workers[t].thread, NULL, run, &workers[t]) != 0) {
      fprintf(stderr, "%s: pthread_create failed\n", argv[0]);
      return 1;
    }
  }
  pthread_barrier_wait(&start);
  double t0 = wl_now_seconds();
  pthread_barrier_wait(&stop);
  double seconds = wl_now_seconds() - t0;
  for (uint64_t t = 0; t < threads; t++) pthread_join(workers[t].thread, NULL);
  pthread_barrier_destroy(&start);
  pthread_barrier_destroy(&stop);
  free(workers);

  char params[160];
  snprintf(params, sizeof params, "threads=%llu iters=%llu ws=%llu seed=%llu min=%zu max=%zu",
           (unsigned long long)threads, (unsigned long long)iters, (unsigned long long)ws,
           (unsigned long long)seed, min, max);
  wl_report("bench_mt_random_mixed", params, threads * iters, seconds);
  return 0;
}
