/* After larson (Larson & Krishnan's server benchmark): each server thread
 * owns a table of blocks and replaces random ones with new blocks of random
 * small sizes; after a round it hands the table to a successor thread and
 * exits, so most frees hit blocks another (dead) thread allocated.
 *   larson [SECONDS] [THREADS] [RSS_LIMIT_MIB] */
#include "stress_common.h"

#include <pthread.h>
#include <stdatomic.h>

enum { kSlots = 2000, kRound = 20000 };

struct table {
  void* p[kSlots];
  size_t n[kSlots];
  uint64_t seed;
};

static uint64_t g_end;
static atomic_ullong g_ops;

static void* server(void* arg) {
  struct table* t = (struct table*)arg;
  for (int i = 0; i < kRound; ++i) {
    size_t s = (size_t)(hk_rand(&t->seed) % kSlots);
    if (t->p[s]) {
      hk_check(t->p[s], t->n[s], "larson");
      free(t->p[s]);
    }
    t->n[s] = 8 + (size_t)(hk_rand(&t->seed) % 505);
    t->p[s] = malloc(t->n[s]);
    if (!t->p[s]) exit(1);
    hk_fill(t->p[s], t->n[s]);
  }
  atomic_fetch_add(&g_ops, 2 * kRound);
  /* The successor takes the table over, as larson's threads do. */
  if (hk_now_ns() < g_end) {
    pthread_t next;
    if (pthread_create(&next, NULL, server, t) != 0) exit(1);
    pthread_detach(next);
  } else {
    for (int s = 0; s < kSlots; ++s) {
      if (t->p[s]) hk_check(t->p[s], t->n[s], "larson");
      free(t->p[s]);
      t->p[s] = NULL;
    }
    t->seed = 0; /* tells main this chain is done */
  }
  return NULL;
}

int main(int argc, char** argv) {
  struct hk_args a = hk_parse(argc, argv, 2, 8, 256);
  hk_require_hakmem("larson");
  g_end = hk_now_ns() + (uint64_t)(a.seconds * 1e9);
  struct table* tables = calloc((size_t)a.threads, sizeof *tables);
  for (int i = 0; i < a.threads; ++i) {
    tables[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
    pthread_t t;
    if (pthread_create(&t, NULL, server, &tables[i]) != 0) return 1;
    pthread_detach(t);
  }
  for (int i = 0; i < a.threads; ++i)
    while (__atomic_load_n(&tables[i].seed, __ATOMIC_ACQUIRE) != 0) {
      struct timespec ts = {0, 10000000};
      nanosleep(&ts, NULL);
    }
  free(tables);
  return hk_finish("larson", atomic_load(&g_ops), a.rss_limit_mib);
}
