/* Shared helpers for the benchmark workloads in examples/.
 *
 * Contract: each workload program includes this header; everything here is
 * static inline, so every program stays a single translation unit that uses
 * plain malloc/free and can run under any preloaded allocator. Helpers are
 * thread-agnostic: a PRNG state belongs to exactly one thread.
 *
 * Why a private PRNG: rand() takes a lock in glibc and would measure that
 * lock instead of the allocator. Why a result-line helper: scripts/bench.py
 * parses "ops=", "seconds=", "cpu_seconds=" and "ops/s=" from one line per
 * run, so every program prints them the same way.
 */
#ifndef HAKMEM_EXAMPLES_WORKLOAD_COMMON_H
#define HAKMEM_EXAMPLES_WORKLOAD_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* splitmix64: tiny, full-period, and good enough to pick slots and sizes. */
static inline uint64_t wl_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi]; the modulo bias is irrelevant at these ranges. */
static inline size_t wl_rand_between(uint64_t *state, size_t lo, size_t hi) {
  return lo + (size_t)(wl_rand(state) % (uint64_t)(hi - lo + 1));
}

static inline double wl_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Parses argv[index] as a positive integer, or returns fallback when the
 * argument is absent. Bad input exits with a one-line error. */
static inline uint64_t wl_arg(int argc, char **argv, int index, uint64_t fallback,
                              const char *name) {
  if (index >= argc) return fallback;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(argv[index], &end, 10);
  if (errno != 0 || end == argv[index] || *end != '\0' || argv[index][0] == '-') {
    fprintf(stderr, "%s: %s must be a non-negative integer, got '%s'\n", argv[0], name,
            argv[index]);
    exit(2);
  }
  return (uint64_t)v;
}

/* Rejects a size range the workloads cannot use. */
static inline void wl_check_sizes(const char *prog, size_t lo, size_t hi) {
  if (lo == 0 || hi < lo) {
    fprintf(stderr, "%s: need 0 < MIN <= MAX, got MIN=%zu MAX=%zu\n", prog, lo, hi);
    exit(2);
  }
}

static inline void wl_out_of_memory(const char *prog, size_t size) {
  fprintf(stderr, "%s: malloc(%zu) failed\n", prog, size);
  exit(1);
}

/* CPU time of the whole process so far, all threads. On a machine shared
 * with other work a run may get a fraction of a core; its CPU time barely
 * moves when that happens, its wall time does. */
static inline double wl_cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The one machine-readable result line: ops counts every malloc and every
 * free, so programs with different shapes report comparable rates.
 * cpu_seconds is the process's CPU time up to this report (start-up and
 * set-up included, which is small next to the timed loop). */
static inline void wl_report(const char *name, const char *params, uint64_t ops,
                             double seconds) {
  printf("%s: %s ops=%llu seconds=%.6f cpu_seconds=%.6f ops/s=%.0f\n", name, params,
         (unsigned long long)ops, seconds, wl_cpu_seconds(),
         seconds > 0 ? (double)ops / seconds : 0.0);
  fflush(stdout);
}

#endif
