/* After xmalloc-test (Lever & Boreham): producer threads allocate blocks and
 * pass them through a shared queue to consumer threads, which check and free
 * them: every free is a cross-thread free.
 *   xmalloc [SECONDS] [THREADS] [RSS_LIMIT_MIB]  (half produce, half consume) */
#include "stress_common.h"

#include <pthread.h>

enum { kQueue = 4096, kBatch = 64 };

static struct {
  pthread_mutex_t lock;
  pthread_cond_t not_empty, not_full;
  void* p[kQueue];
  size_t n[kQueue];
  size_t head, tail;
  int producers_left;
} q = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .not_empty = PTHREAD_COND_INITIALIZER,
       .not_full = PTHREAD_COND_INITIALIZER};

static uint64_t g_end;
static unsigned long long g_ops;

static void* producer(void* arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg * 0x2545f4914f6cdd1dull + 1;
  unsigned long long ops = 0;
  while (hk_now_ns() < g_end) {
    for (int b = 0; b < kBatch; ++b) {
      size_t n = hk_rand_size(&seed);
      void* p = malloc(n);
      if (!p) exit(1);
      hk_fill(p, n);
      pthread_mutex_lock(&q.lock);
      while (q.tail - q.head == kQueue) pthread_cond_wait(&q.not_full, &q.lock);
      q.p[q.tail % kQueue] = p;
      q.n[q.tail % kQueue] = n;
      q.tail++;
      pthread_cond_signal(&q.not_empty);
      pthread_mutex_unlock(&q.lock);
      ++ops;
    }
  }
  pthread_mutex_lock(&q.lock);
  q.producers_left--;
  g_ops += ops;
  pthread_cond_broadcast(&q.not_empty);
  pthread_mutex_unlock(&q.lock);
  return NULL;
}

static void* consumer(void* arg) {
  (void)arg;
  unsigned long long ops = 0;
  for (;;) {
    pthread_mutex_lock(&q.lock);
    while (q.tail == q.head && q.producers_left > 0) pthread_cond_wait(&q.not_empty, &q.lock);
    if (q.tail == q.head) {
      g_ops += ops;
      pthread_mutex_unlock(&q.lock);
      return NULL;
    }
    void* p = q.p[q.head % kQueue];
    size_t n = q.n[q.head % kQueue];
    q.head++;
    pthread_cond_signal(&q.not_full);
    pthread_mutex_unlock(&q.lock);
    hk_check(p, n, "xmalloc");
    free(p);
    ++ops;
  }
}

int main(int argc, char** argv) {
  struct hk_args a = hk_parse(argc, argv, 2, 8, 256);
  hk_require_hakmem("xmalloc");
  g_end = hk_now_ns() + (uint64_t)(a.seconds * 1e9);
  int producers = a.threads > 1 ? a.threads / 2 : 1;
  int consumers = a.threads > 1 ? a.threads - producers : 1;
  q.producers_left = producers;
  pthread_t t[512];
  for (int i = 0; i < producers; ++i) pthread_create(&t[i], NULL, producer, (void*)(uintptr_t)(i + 1));
  for (int i = 0; i < consumers; ++i) pthread_create(&t[producers + i], NULL, consumer, NULL);
  for (int i = 0; i < producers + consumers; ++i) pthread_join(t[i], NULL);
  return hk_finish("xmalloc", g_ops, a.rss_limit_mib);
}
