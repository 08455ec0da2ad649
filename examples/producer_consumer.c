/* producer_consumer: one thread allocates, another frees, so every free is
 * remote (the block's owner is the producer). The two are joined by a
 * bounded single-producer/single-consumer ring, so the producer can run at
 * most QUEUE blocks ahead and the live footprint stays bounded.
 *
 *   producer_consumer ITEMS [MIN MAX]     (default 16..1040 bytes)
 *
 * Prints one line: producer_consumer: ... ops=2*ITEMS seconds=X ops/s=N
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "workload_common.h"

enum { QUEUE = 1024, SPINS_BEFORE_YIELD = 64 };

/* head is written only by the consumer and tail only by the producer; they
 * sit on separate cache lines so the ring itself does not false-share. */
struct ring {
  _Alignas(64) _Atomic size_t head;
  _Alignas(64) _Atomic size_t tail;
  _Alignas(64) unsigned char *slot[QUEUE];
};

struct job {
  struct ring ring;
  uint64_t items;
  size_t min, max;
  uint64_t checksum; /* consumer's sum of first bytes: keeps the reads alive */
};

/* On a 2-core machine the peer may be descheduled; yielding after a short
 * spin keeps a full/empty ring from burning the core the peer needs. */
static void backoff(unsigned *spins) {
  if (++*spins >= SPINS_BEFORE_YIELD) {
    *spins = 0;
    sched_yield();
  }
}

static void *consume(void *arg) {
  struct job *job = arg;
  struct ring *r = &job->ring;
  size_t head = 0;
  uint64_t sum = 0;
  for (uint64_t n = 0; n < job->items; n++) {
    unsigned spins = 0;
    while (atomic_load_explicit(&r->tail, memory_order_acquire) == head) backoff(&spins);
    unsigned char *p = r->slot[head % QUEUE];
    sum += p[0];
    free(p);
    head++;
    atomic_store_explicit(&r->head, head, memory_order_release);
  }
  job->checksum = sum;
  return NULL;
}

static void produce(struct job *job) {
  struct ring *r = &job->ring;
  uint64_t rng = 0x5eedULL;
  size_t tail = 0;
  for (uint64_t n = 0; n < job->items; n++) {
    size_t size = wl_rand_between(&rng, job->min, job->max);
    unsigned char *p = malloc(size);
    if (!p) wl_out_of_memory("producer_consumer", size);
    p[0] = (unsigned char)n;
    p[size - 1] = (unsigned char)size;
    unsigned spins = 0;
    while (tail - atomic_load_explicit(&r->head, memory_order_acquire) == QUEUE)
      backoff(&spins);
    r->slot[tail % QUEUE] = p;
    tail++;
    atomic_store_explicit(&r->tail, tail, memory_order_release);
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: %s ITEMS [MIN MAX]\n", argv[0]);
    return 2;
  }
  static struct job job;
  job.items = wl_arg(argc, argv, 1, 0, "ITEMS");
  job.min = wl_arg(argc, argv, 2, 16, "MIN");
  job.max = wl_arg(argc, argv, 3, 1040, "MAX");
  wl_check_sizes(argv[0], job.min, job.max);

  double start = wl_now_seconds();
  pthread_t consumer;
  if (pthread_create(&consumer, NULL, consume, &job) != 0) {
    fprintf(stderr, "%s: pthread_create failed\n", argv[0]);
    return 1;
  }
  produce(&job);
  pthread_join(consumer, NULL);
  double seconds = wl_now_seconds() - start;

  char params[128];
  snprintf(params, sizeof params, "items=%llu min=%zu max=%zu checksum=%llu",
           (unsigned long long)job.items, job.min, job.max,
           (unsigned long long)job.checksum);
  wl_report("producer_consumer", params, 2 * job.items, seconds);
  return 0;
}
