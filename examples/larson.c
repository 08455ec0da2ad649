/* larson: a server-style workload in the spirit of Larson and Krishnan's
 * benchmark, written for this project. THREADS lineages run side by side.
 * Each lineage owns an array of SLOTS live blocks. A thread of a lineage
 * lives for one round: OPS times it frees a random slot's block and puts a
 * new block of random size there; then it starts a fresh thread, hands it
 * the whole array and exits. So most frees are of blocks another (often
 * already dead) thread allocated, and threads keep coming and going, as in a
 * server that spawns a thread per connection.
 *
 *   larson THREADS ROUNDS [SLOTS OPS MIN MAX SEED]
 *          (defaults: SLOTS 1000, OPS 20000, 16..1040 bytes, SEED 1)
 *
 * The work is fixed (THREADS*ROUNDS*OPS replacements), not the time, so
 * ops/s is comparable between allocators. The clock covers the rounds only:
 * the main thread fills the arrays before it and frees them after it.
 * Prints: larson: ... ops=2*THREADS*ROUNDS*OPS seconds=X ops/s=N
 */
#include <pthread.h>
#include <semaphore.h>

#include "workload_common.h"

struct lineage {
  unsigned char **slots;
  uint64_t rng;
  uint64_t rounds_left;
  pthread_t prev; /* the thread that ran the previous round; joined by the next */
  int has_prev;
};

static uint64_t g_slots, g_ops;
static size_t g_min, g_max;
static sem_t g_lineage_done;

static unsigned char *new_block(uint64_t *rng) {
  size_t size = wl_rand_between(rng, g_min, g_max);
  unsigned char *p = malloc(size);
  if (!p) wl_out_of_memory("larson", size);
  p[0] = (unsigned char)size;
  p[size - 1] = (unsigned char)size;
  return p;
}

static void *live_one_round(void *arg) {
  struct lineage *l = arg;
  if (l->has_prev) pthread_join(l->prev, NULL);

  for (uint64_t i = 0; i < g_ops; i++) {
    uint64_t idx = wl_rand(&l->rng) % g_slots;
    free(l->slots[idx]);
    l->slots[idx] = new_block(&l->rng);
  }

  l->rounds_left--;
  l->prev = pthread_self();
  l->has_prev = 1;
  if (l->rounds_left == 0) {
    sem_post(&g_lineage_done);
    return NULL;
  }
  pthread_t next;
  if (pthread_create(&next, NULL, live_one_round, l) != 0) {
    fprintf(stderr, "larson: pthread_create failed\n");
    exit(1);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 8) {
    fprintf(stderr, "usage: %s THREADS ROUNDS [SLOTS OPS MIN MAX SEED]\n", argv[0]);
    return 2;
  }
  uint64_t threads = wl_arg(argc, argv, 1, 0, "THREADS");
  uint64_t rounds = wl_arg(argc, argv, 2, 0, "ROUNDS");
  g_slots = wl_arg(argc, argv, 3, 1000, "SLOTS");
  g_ops = wl_arg(argc, argv, 4, 20000, "OPS");
  g_min = wl_arg(argc, argv, 5, 16, "MIN");
  g_max = wl_arg(argc, argv, 6, 1040, "MAX");
  uint64_t seed = wl_arg(argc, argv, 7, 1, "SEED");
  wl_check_sizes(argv[0], g_min, g_max);
  if (threads == 0 || threads > 1024 || rounds == 0 || g_slots == 0) {
    fprintf(stderr, "%s: need 1 <= THREADS <= 1024, ROUNDS >= 1 and SLOTS >= 1\n", argv[0]);
    return 2;
  }

  struct lineage *lines = calloc(threads, sizeof *lines);
  if (!lines) wl_out_of_memory(argv[0], threads * sizeof *lines);
  for (uint64_t t = 0; t < threads; t++) {
    lines[t].rng = seed ^ (t * 0xd1b54a32d192ed03ULL);
    lines[t].rounds_left = rounds;
    lines[t].slots = malloc(g_slots * sizeof *lines[t].slots);
    if (!lines[t].slots) wl_out_of_memory(argv[0], g_slots * sizeof *lines[t].slots);
    for (uint64_t i = 0; i < g_slots; i++) lines[t].slots[i] = new_block(&lines[t].rng);
  }
  sem_init(&g_lineage_done, 0, 0);

  double start = wl_now_seconds();
  for (uint64_t t = 0; t < threads; t++) {
    pthread_t first;
    if (pthread_create(&first, NULL, live_one_round, &lines[t]) != 0) {
      fprintf(stderr, "%s: pthread_create failed\n", argv[0]);
      return 1;
    }
  }
  for (uint64_t t = 0; t < threads; t++) sem_wait(&g_lineage_done);
  double seconds = wl_now_seconds() - start;

  for (uint64_t t = 0; t < threads; t++) {
    pthread_join(lines[t].prev, NULL);
    for (uint64_t i = 0; i < g_slots; i++) free(lines[t].slots[i]);
    free(lines[t].slots);
  }
  free(lines);
  sem_destroy(&g_lineage_done);

  char params[192];
  snprintf(params, sizeof params,
           "threads=%llu rounds=%llu slots=%llu ops_per_round=%llu min=%zu max=%zu seed=%llu",
           (unsigned long long)threads, (unsigned long long)rounds,
           (unsigned long long)g_slots, (unsigned long long)g_ops, g_min, g_max,
           (unsigned long long)seed);
  wl_report("larson", params, 2 * threads * rounds * g_ops, seconds);
  return 0;
}
