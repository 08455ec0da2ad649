/* Shared pieces of the stress programs (tests/stress), which run under
 * LD_PRELOAD=libhakmem.so from ctest.
 *
 * Contract: every block a program allocates is filled with a pattern made
 * from its address and size (fill) and checked before it is freed or handed
 * on (check); a wrong byte means the allocator handed out overlapping or
 * corrupted memory, and the program exits 1 naming the block. finish()
 * prints the operation count and peak RSS and exits 1 when the peak passes
 * the program's limit (memory must stay bounded) or when libhakmem.so is not
 * the allocator in use (a stress run of glibc proves nothing here). Programs
 * are C, as examples/ are: nothing between them and malloc. */
#ifndef HK_STRESS_COMMON_H
#define HK_STRESS_COMMON_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline uint64_t hk_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: each thread keeps its own state. */
static inline uint64_t hk_rand(uint64_t* s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 2685821657736338717ull;
}

/* Sizes skewed to small, as real programs are: mostly under 1 KiB, some up
 * to 64 KiB, a few large blocks up to 1 MiB (the large-block path). */
static inline size_t hk_rand_size(uint64_t* s) {
  uint64_t r = hk_rand(s);
  switch (r % 16) {
    case 15: return 65536 + (size_t)((r >> 8) % (1 << 20));
    case 13: case 14: return 1024 + (size_t)((r >> 8) % 65536);
    default: return 1 + (size_t)((r >> 8) % 1024);
  }
}

static inline unsigned char hk_pattern(const void* p, size_t i, size_t n) {
  uintptr_t a = (uintptr_t)p;
  return (unsigned char)((a >> 4) ^ (a >> 13) ^ n ^ (i * 131));
}

/* The first and last 64 bytes and every 4 KiB between: cheap enough to run
 * on every block, and a block that overlaps another breaks one of them. */
#define HK_FOR_PROBES(i, n) \
  for (size_t i = 0; i < (n); i = (i < 63 || i + 64 >= (n)) ? i + 1 : ((i + 4096 < (n) - 64) ? i + 4096 : (n) - 64))

static inline void hk_fill(void* p, size_t n) {
  unsigned char* c = (unsigned char*)p;
  HK_FOR_PROBES(i, n) c[i] = hk_pattern(p, i, n);
}

static inline void hk_check(const void* p, size_t n, const char* what) {
  const unsigned char* c = (const unsigned char*)p;
  HK_FOR_PROBES(i, n) {
    if (c[i] != hk_pattern(p, i, n)) {
      fprintf(stderr, "%s: block %p of %zu bytes corrupted at byte %zu\n", what, p, n, i);
      exit(1);
    }
  }
}

/* Exits 1 unless malloc is libhakmem.so's. */
static inline void hk_require_hakmem(const char* prog) {
  int (*owns)(const void*) = (int (*)(const void*))dlsym(RTLD_DEFAULT, "hakmem_owns");
  void* p = malloc(64);
  if (!owns || !owns(p)) {
    fprintf(stderr, "%s: libhakmem.so is not the allocator (run with LD_PRELOAD)\n", prog);
    exit(1);
  }
  free(p);
}

static inline long hk_peak_rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static inline int hk_finish(const char* prog, unsigned long long ops, long rss_limit_mib) {
  long peak = hk_peak_rss_kib();
  printf("%s: %llu operations, peak RSS %ld KiB (limit %ld MiB)\n", prog, ops, peak, rss_limit_mib);
  if (peak > rss_limit_mib * 1024) {
    fprintf(stderr, "%s: peak RSS %ld KiB is over the %ld MiB limit\n", prog, peak, rss_limit_mib);
    return 1;
  }
  return 0;
}

/* argv: SECONDS THREADS RSS_LIMIT_MIB, each with a default. */
struct hk_args {
  double seconds;
  int threads;
  long rss_limit_mib;
};

static inline struct hk_args hk_parse(int argc, char** argv, double seconds, int threads,
                                      long rss_limit_mib) {
  struct hk_args a = {seconds, threads, rss_limit_mib};
  if (argc > 1) a.seconds = atof(argv[1]);
  if (argc > 2) a.threads = atoi(argv[2]);
  if (argc > 3) a.rss_limit_mib = atol(argv[3]);
  if (a.seconds <= 0 || a.threads < 1 || a.threads > 256 || a.rss_limit_mib < 1) {
    fprintf(stderr, "usage: %s [SECONDS>0] [THREADS 1..256] [RSS_LIMIT_MIB]\n", argv[0]);
    exit(2);
  }
  return a;
}

#endif
