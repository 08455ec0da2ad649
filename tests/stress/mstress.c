/* After mimalloc-test-stress (mstress): in each iteration a fresh set of
 * threads allocates blocks of random sizes (some large), keeps some, and
 * trades others through a shared array of transfer slots with atomic
 * exchanges, freeing whatever it gets back; the next iteration's threads
 * inherit and free what is left. Thread churn plus cross-thread frees.
 *   mstress [SECONDS] [THREADS] [RSS_LIMIT_MIB] */
#include "stress_common.h"

#include <pthread.h>
#include <stdatomic.h>

enum { kTransfer = 1000, kOpsPerThread = 20000, kKeep = 256 };

struct block {
  size_t n;
  /* payload follows; the header is part of the checked pattern */
};

static _Atomic(struct block*) g_transfer[kTransfer];
static atomic_ullong g_ops;

static struct block* make(uint64_t* seed) {
  size_t n = sizeof(struct block) + hk_rand_size(seed);
  struct block* b = malloc(n);
  if (!b) exit(1);
  hk_fill(b, n);
  b->n = n;
  return b;
}

static void drop(struct block* b) {
  if (!b) return;
  size_t n = b->n;
  /* The size overwrote the pattern's first bytes: put them back to check. */
  unsigned char* c = (unsigned char*)b;
  for (size_t i = 0; i < sizeof(struct block); ++i) c[i] = hk_pattern(b, i, n);
  hk_check(b, n, "mstress");
  free(b);
}

static void* worker(void* arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg;
  struct block* keep[kKeep] = {0};
  for (int i = 0; i < kOpsPerThread; ++i) {
    uint64_t r = hk_rand(&seed);
    if (r % 4 == 0) {
      struct block* got = atomic_exchange(&g_transfer[(r >> 8) % kTransfer], make(&seed));
      drop(got);
    } else {
      size_t k = (r >> 8) % kKeep;
      drop(keep[k]);
      keep[k] = make(&seed);
    }
  }
  for (int k = 0; k < kKeep; ++k) drop(keep[k]);
  atomic_fetch_add(&g_ops, 2 * kOpsPerThread);
  return NULL;
}

int main(int argc, char** argv) {
  struct hk_args a = hk_parse(argc, argv, 2, 8, 512);
  hk_require_hakmem("mstress");
  uint64_t end = hk_now_ns() + (uint64_t)(a.seconds * 1e9);
  uint64_t iter = 0;
  pthread_t t[256];
  while (hk_now_ns() < end) {
    for (int i = 0; i < a.threads; ++i)
      if (pthread_create(&t[i], NULL, worker, (void*)(uintptr_t)(iter * 1000 + (uint64_t)i + 1)) != 0)
        return 1;
    for (int i = 0; i < a.threads; ++i) pthread_join(t[i], NULL);
    ++iter;
  }
  for (int i = 0; i < kTransfer; ++i) drop(atomic_exchange(&g_transfer[i], NULL));
  printf("mstress: %llu iterations of %d threads\n", (unsigned long long)iter, a.threads);
  return hk_finish("mstress", atomic_load(&g_ops), a.rss_limit_mib);
}
