/* After Hoard's cache-scratch: the main thread allocates one small object
 * per thread and hands it over; each thread frees it (a remote free) and
 * then, over and over, allocates a small object, writes it many times and
 * frees it. An allocator that gives threads neighbouring bytes of one cache
 * line makes them fight over it; here it is checked for correctness (every
 * object keeps its own pattern while others write theirs) and bounded RSS.
 *   cache_scratch [SECONDS] [THREADS] [RSS_LIMIT_MIB] */
#include "stress_common.h"

#include <pthread.h>
#include <stdatomic.h>

enum { kObject = 8, kWrites = 200 };

static uint64_t g_end;
static atomic_ullong g_ops;

static void* worker(void* arg) {
  char* given = (char*)arg;
  hk_check(given, kObject, "cache_scratch");
  free(given);
  unsigned long long ops = 0;
  while (hk_now_ns() < g_end) {
    for (int r = 0; r < 1000; ++r) {
      volatile char* o = malloc(kObject);
      if (!o) exit(1);
      for (int w = 0; w < kWrites; ++w)
        for (int j = 0; j < kObject; ++j) o[j] = (char)(o[j] + 1);
      hk_fill((void*)o, kObject);
      hk_check((void*)o, kObject, "cache_scratch");
      free((void*)o);
      ++ops;
    }
  }
  atomic_fetch_add(&g_ops, 2 * ops);
  return NULL;
}

int main(int argc, char** argv) {
  struct hk_args a = hk_parse(argc, argv, 2, 8, 64);
  hk_require_hakmem("cache_scratch");
  g_end = hk_now_ns() + (uint64_t)(a.seconds * 1e9);
  pthread_t t[256];
  for (int i = 0; i < a.threads; ++i) {
    char* o = malloc(kObject);
    hk_fill(o, kObject);
    pthread_create(&t[i], NULL, worker, o);
  }
  for (int i = 0; i < a.threads; ++i) pthread_join(t[i], NULL);
  return hk_finish("cache_scratch", atomic_load(&g_ops), a.rss_limit_mib);
}
