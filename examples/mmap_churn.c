/* mmap_churn: N mmap+munmap pairs of 1 MiB, then prints the elapsed seconds.
 *
 * The probe's overhead benchmark (scripts/bench_probe.sh): a program that is
 * nothing but the syscalls the probe records, so any per-syscall cost shows.
 * Usage: mmap_churn [N]   (default 100000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  long n = 100000;
  if (argc > 1) {
    char* end = NULL;
    n = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || n < 0) {
      fprintf(stderr, "usage: mmap_churn [N]  (N mmap+munmap pairs of 1 MiB)\n");
      return 2;
    }
  }
  const size_t len = (size_t)1 << 20;
  double t0 = now_seconds();
  for (long i = 0; i < n; i++) {
    void* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      perror("mmap_churn: mmap");
      return 1;
    }
    if (munmap(p, len) != 0) {
      perror("mmap_churn: munmap");
      return 1;
    }
  }
  printf("%.6f\n", now_seconds() - t0);
  return 0;
}
