/* stress_large_small: large blocks among small ones, across threads, in the
 * shape mimalloc's test-stress describes (written here from that
 * description, not copied).
 *
 *   stress_large_small THREADS SCALE ROUNDS SEED
 *
 * Each round starts THREADS fresh threads. Thread t makes 100*SCALE*(t%8+1)
 * allocations: half go to a working list it frees from at random (two out
 * of three steps free one), half to a retained list kept until the thread
 * ends; a quarter of the steps swap one of its blocks with a slot of a
 * buffer shared by all threads, so blocks are freed by threads that did not
 * allocate them and outlive the round that made them. Sizes are 1..64
 * words (8 bytes each), mostly small; 1 in 100 blocks is 100x bigger,
 * 1 in 1000 1000x and 1 in 10000 10000x (up to 5 MiB): the large-block
 * path runs among the small ones. Every block is calloc'd and written
 * whole, as test-stress does, so a block's pages are really touched.
 *
 * Prints: stress_large_small: ... ops=N seconds=X ops/s=N (ops counts
 * every allocation and every free).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "workload_common.h"

enum { TRANSFERS = 1000 };

static _Atomic(uint64_t *) g_transfer[TRANSFERS];
static atomic_ullong g_ops;
static uint64_t g_scale, g_seed;

/* A block is its word count followed by words derived from it; a free
 * reads them all back, so nobody else may have written into it. */
static uint64_t *make(uint64_t *rng, unsigned max_shift) {
  size_t words = (size_t)1 << (wl_rand(rng) % max_shift);
  uint64_t r = wl_rand(rng) % 10000;
  if (r == 0) words *= 10000;
  else if (r < 10) words *= 1000;
  else if (r < 100) words *= 100;
  uint64_t *p = calloc(words, sizeof *p);
  if (!p) wl_out_of_memory("stress_large_small", words * sizeof *p);
  p[0] = words;
  for (size_t i = 1; i < words; i++) p[i] = (words - i) ^ 0x5a5a5a5a5a5a5a5aull;
  return p;
}

static void drop(uint64_t *p) {
  if (!p) return;
  const size_t words = p[0];
  size_t bad = 1;
  while (bad < words && p[bad] == ((words - bad) ^ 0x5a5a5a5a5a5a5a5aull)) bad++;
  if (bad < words) {
    fprintf(stderr, "stress_large_small: block %p of %zu words was overwritten\n", (void *)p,
            words);
    exit(1);
  }
  free(p);
}

static void *worker(void *arg) {
  const uint64_t tid = (uint64_t)(uintptr_t)arg;
  uint64_t rng = g_seed ^ (tid * 0x9e3779b97f4a7c15ull);
  uint64_t allocs = 100 * g_scale * (tid % 8 + 1);
  uint64_t retain = allocs / 2, ops = 0;
  uint64_t **retained = malloc(retain * sizeof *retained);
  size_t data_cap = 1024, data_n = 0, retained_n = 0;
  uint64_t **data = malloc(data_cap * sizeof *data);
  if (!retained || !data) wl_out_of_memory("stress_large_small", retain * sizeof *retained);

  while (allocs > 0 || retain > 0) {
    if (retain == 0 || (allocs > 0 && wl_rand(&rng) % 2 == 0)) {
      if (data_n == data_cap) {
        data_cap *= 2;
        data = realloc(data, data_cap * sizeof *data);
        if (!data) wl_out_of_memory("stress_large_small", data_cap * sizeof *data);
      }
      data[data_n++] = make(&rng, 5);
      allocs--;
    } else {
      retained[retained_n++] = make(&rng, 7);
      retain--;
    }
    ops++;
    if (data_n > 0 && wl_rand(&rng) % 3 != 0) {
      const size_t i = wl_rand(&rng) % data_n;
      if (data[i]) ops++;
      drop(data[i]);
      data[i] = NULL;
    }
    if (data_n > 0 && wl_rand(&rng) % 4 == 0) {
      const size_t i = wl_rand(&rng) % data_n;
      data[i] = atomic_exchange(&g_transfer[wl_rand(&rng) % TRANSFERS], data[i]);
    }
  }
  for (size_t i = 0; i < retained_n; i++) drop(retained[i]);
  for (size_t i = 0; i < data_n; i++) {
    if (data[i]) ops++;
    drop(data[i]);
  }
  free(retained);
  free(data);
  atomic_fetch_add(&g_ops, ops + retained_n);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s THREADS SCALE ROUNDS SEED\n", argv[0]);
    return 2;
  }
  const uint64_t threads = wl_arg(argc, argv, 1, 0, "THREADS");
  g_scale = wl_arg(argc, argv, 2, 0, "SCALE");
  const uint64_t rounds = wl_arg(argc, argv, 3, 0, "ROUNDS");
  g_seed = wl_arg(argc, argv, 4, 0, "SEED");
  if (threads == 0 || threads > 256 || g_scale == 0) {
    fprintf(stderr, "%s: need 1 <= THREADS <= 256 and SCALE >= 1\n", argv[0]);
    return 2;
  }
  pthread_t t[256];
  const double start = wl_now_seconds();
  for (uint64_t round = 0; round < rounds; round++) {
    for (uint64_t i = 0; i < threads; i++) {
      if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(round * threads + i)) != 0) {
        fprintf(stderr, "%s: pthread_create failed\n", argv[0]);
        return 1;
      }
    }
    for (uint64_t i = 0; i < threads; i++) pthread_join(t[i], NULL);
  }
  for (size_t i = 0; i < TRANSFERS; i++) {
    uint64_t *p = atomic_exchange(&g_transfer[i], NULL);
    if (p) atomic_fetch_add(&g_ops, 1);
    drop(p);
  }
  const double seconds = wl_now_seconds() - start;
  char params[128];
  snprintf(params, sizeof params, "threads=%llu scale=%llu rounds=%llu seed=%llu",
           (unsigned long long)threads, (unsigned long long)g_scale,
           (unsigned long long)rounds, (unsigned long long)g_seed);
  wl_report("stress_large_small", params, atomic_load(&g_ops), seconds);
  return 0;
}
