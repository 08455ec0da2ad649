/* madvise_churn: memory given back with madvise and touched again at once.
 *
 *   madvise_churn [ROUNDS [KIB]]   default: 2000 rounds of 1024 KiB
 *
 * Each round writes every page of one mapping, then gives the pages back
 * with madvise(MADV_DONTNEED), as a purging allocator does with memory it
 * believes idle. The next round's writes fault every page in again, zeroed.
 * `hakmem-analyze record --no-preload` then `report` names this
 * madvise_churn, with the faults the advice cost next to its calls.
 */
#include "workload_common.h"

#include <sys/mman.h>

int main(int argc, char **argv) {
  const uint64_t rounds = wl_arg(argc, argv, 1, 2000, "ROUNDS");
  const size_t len = (size_t)wl_arg(argc, argv, 2, 1024, "KIB") << 10;
  const size_t page = 4096;
  unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) wl_out_of_memory(argv[0], len);
  uint64_t ops = 0;
  const double t0 = wl_now_seconds();
  for (uint64_t r = 0; r < rounds; r++) {
    for (size_t off = 0; off < len; off += page) p[off] = (unsigned char)r;
    if (madvise(p, len, MADV_DONTNEED) != 0) {
      perror("madvise_churn: madvise");
      return 1;
    }
    ops += len / page;
  }
  const double seconds = wl_now_seconds() - t0;
  char params[64];
  snprintf(params, sizeof params, "rounds=%llu kib=%llu", (unsigned long long)rounds,
           (unsigned long long)(len >> 10));
  wl_report("madvise_churn", params, ops, seconds);
  return 0;
}
