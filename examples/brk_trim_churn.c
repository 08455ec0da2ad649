/* brk_trim_churn: glibc's heap top shrinks and grows on every round.
 *
 *   brk_trim_churn [ROUNDS]   default: 300
 *
 * Record it with `hakmem-analyze record --no-preload` to see glibc's own
 * malloc. Each round allocates 4 blocks of 96 KiB (below glibc's mmap
 * threshold, so they come from the brk heap), then frees them newest first.
 * The freed space merges into the top chunk; once it exceeds
 * M_TRIM_THRESHOLD (128 KiB) glibc gives it back with brk, and the next
 * round grows the heap again: `hakmem-analyze report` names this
 * brk_trim_churn. Under hakmem (which never uses brk) it disappears.
 */
#include "workload_common.h"

int main(int argc, char **argv) {
  const uint64_t rounds = wl_arg(argc, argv, 1, 300, "ROUNDS");
  enum { kBlocks = 4 };
  const size_t size = 96 << 10;
  unsigned char *blocks[kBlocks];
  uint64_t ops = 0;
  const double t0 = wl_now_seconds();
  for (uint64_t r = 0; r < rounds; r++) {
    for (int i = 0; i < kBlocks; i++) {
      blocks[i] = malloc(size);
      if (!blocks[i]) wl_out_of_memory(argv[0], size);
      blocks[i][0] = blocks[i][size - 1] = (unsigned char)r;
    }
    for (int i = kBlocks - 1; i >= 0; i--) free(blocks[i]);
    ops += 2 * kBlocks;
  }
  const double seconds = wl_now_seconds() - t0;
  char params[64];
  snprintf(params, sizeof params, "rounds=%llu", (unsigned long long)rounds);
  wl_report("brk_trim_churn", params, ops, seconds);
  return 0;
}
