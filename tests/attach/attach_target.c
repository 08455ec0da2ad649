/* A program that is already running when `hakmem-analyze attach` comes:
 * it churns until it is killed or SECONDS pass, and every INTERVAL_MS
 * prints one line "<ms since start> <operations in the interval>" on stdout,
 * so that a test or a benchmark sees its throughput before, during and
 * after an attach.
 *
 * Usage: attach_target SECONDS INTERVAL_MS [mmap|malloc|fork]
 *   mmap:   mmap/munmap of 64 KiB (a kernel-side churn, any allocator);
 *   malloc: random malloc/free of 16..1040 bytes over 4096 slots plus one
 *           256 KiB block per 256 operations (the seed's shape, with large
 *           blocks so the allocator maps and unmaps now and then);
 *   fork:   malloc as above, and once a second a child that allocates a
 *           little and exits.
 * The first line, "ready <pid>", is printed once the loop runs. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

enum { kSlots = 4096 };
static void* slots[kSlots];

static void malloc_step(uint64_t i) {
  const unsigned s = (unsigned)(next_rand() % kSlots);
  if (slots[s]) {
    free(slots[s]);
    slots[s] = NULL;
  } else {
    slots[s] = malloc(16 + next_rand() % 1025);
    if (slots[s]) memset(slots[s], 1, 16);
  }
  if ((i & 255) == 0) {
    char* big = malloc(256 << 10);
    if (big) big[0] = 1;
    free(big);
  }
}

static void mmap_step(void) {
  char* p = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  p[0] = 1;
  munmap(p, 64 << 10);
}

static void child_work(void) {
  for (uint64_t i = 0; i < 20000; i++) malloc_step(i);
  _exit(0);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s SECONDS INTERVAL_MS [mmap|malloc|fork]\n", argv[0]);
    return 2;
  }
  const uint64_t end = now_ms() + (uint64_t)(atof(argv[1]) * 1000);
  const uint64_t interval = strtoull(argv[2], NULL, 10);
  const char* mode = argc > 3 ? argv[3] : "malloc";
  const int use_mmap = strcmp(mode, "mmap") == 0, use_fork = strcmp(mode, "fork") == 0;
  signal(SIGCHLD, SIG_DFL);
  const uint64_t t0 = now_ms();
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  uint64_t next = t0 + interval, next_fork = t0 + 1000, ops = 0;
  for (uint64_t i = 1;; i++) {
    if (use_mmap) mmap_step();
    else malloc_step(i);
    ops++;
    if ((i & 1023) != 0) continue;
    const uint64_t t = now_ms();
    if (t >= next) {
      printf("%llu %llu\n", (unsigned long long)(t - t0), (unsigned long long)ops);
      fflush(stdout);
      ops = 0;
      next += interval;
    }
    if (use_fork && t >= next_fork) {
      next_fork += 1000;
      const pid_t c = fork();
      if (c == 0) child_work();
      if (c > 0) waitpid(c, NULL, 0);
    }
    if (t >= end) break;
  }
  return 0;
}
