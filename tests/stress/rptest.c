/* After rpmalloc's rptest: the working set moves in phases. Each thread
 * grows its set to a peak (blocks of a phase-specific size range), shrinks
 * it to an eighth, and grows again with the next phase's sizes, so memory
 * freed in one phase must serve the next (peak RSS stays bounded by the
 * peaks, not their sum).
 *   rptest [SECONDS] [THREADS] [RSS_LIMIT_MIB] */
#include "stress_common.h"

#include <pthread.h>
#include <stdatomic.h>

enum { kPeak = 4000 };

static uint64_t g_end;
static atomic_ullong g_ops;

static const size_t kPhaseMin[] = {16, 256, 2048, 16, 32768};
static const size_t kPhaseSpan[] = {128, 1024, 16384, 4096, 98304};

static void* worker(void* arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull;
  void** p = calloc(kPeak, sizeof *p);
  size_t* n = calloc(kPeak, sizeof *n);
  size_t live = 0;
  unsigned long long ops = 0;
  for (unsigned phase = 0; hk_now_ns() < g_end; ++phase) {
    const unsigned ph = phase % 5;
    /* Large-block phases keep fewer blocks so the peak stays comparable. */
    const size_t peak = ph == 4 ? kPeak / 16 : kPeak;
    while (live < peak) {
      n[live] = kPhaseMin[ph] + (size_t)(hk_rand(&seed) % kPhaseSpan[ph]);
      p[live] = malloc(n[live]);
      if (!p[live]) exit(1);
      hk_fill(p[live], n[live]);
      ++live, ++ops;
    }
    while (live > peak / 8) {
      size_t k = (size_t)(hk_rand(&seed) % live);
      hk_check(p[k], n[k], "rptest");
      free(p[k]);
      --live;
      p[k] = p[live], n[k] = n[live];
      ++ops;
    }
  }
  while (live) {
    --live;
    hk_check(p[live], n[live], "rptest");
    free(p[live]);
  }
  free(p);
  free(n);
  atomic_fetch_add(&g_ops, ops);
  return NULL;
}

int main(int argc, char** argv) {
  struct hk_args a = hk_parse(argc, argv, 2, 8, 512);
  hk_require_hakmem("rptest");
  g_end = hk_now_ns() + (uint64_t)(a.seconds * 1e9);
  pthread_t t[256];
  for (int i = 0; i < a.threads; ++i) pthread_create(&t[i], NULL, worker, (void*)(uintptr_t)(i + 1));
  for (int i = 0; i < a.threads; ++i) pthread_join(t[i], NULL);
  return hk_finish("rptest", atomic_load(&g_ops), a.rss_limit_mib);
}
