/* brk_trim_regrow: glibc's heap filled, freed whole, and filled again.
 *
 *   brk_trim_regrow [ROUNDS [MIB]]   default: 6 rounds of 100 MiB
 *
 * Each round allocates MIB of 4 KiB blocks (below glibc's mmap threshold,
 * so all from the brk heap) and writes them, then frees them all, oldest first. The
 * freed heap merges into its top chunk and glibc trims it back with brk;
 * the next round grows it again and faults every page in afresh. Only a
 * few cycles, so counting cycles misses it; `hakmem-analyze record
 * --no-preload` then `report` names it brk_trim_churn by volume: bytes
 * regrown against the heap's size, and the page faults they cost.
 */
#include "workload_common.h"

#include <string.h>

int main(int argc, char **argv) {
  const uint64_t rounds = wl_arg(argc, argv, 1, 6, "ROUNDS");
  const uint64_t mib = wl_arg(argc, argv, 2, 100, "MIB");
  const size_t size = 4096;
  const size_t count = (size_t)(mib << 20) / size;
  unsigned char **blocks = malloc(count * sizeof *blocks);
  if (!blocks) wl_out_of_memory(argv[0], count * sizeof *blocks);
  uint64_t ops = 0;
  const double t0 = wl_now_seconds();
  for (uint64_t r = 0; r < rounds; r++) {
    for (size_t i = 0; i < count; i++) {
      blocks[i] = malloc(size);
      if (!blocks[i]) wl_out_of_memory(argv[0], size);
      memset(blocks[i], (int)r, size);
    }
    for (size_t i = 0; i < count; i++) free(blocks[i]);
    ops += 2 * count;
  }
  const double seconds = wl_now_seconds() - t0;
  free(blocks);
  char params[64];
  snprintf(params, sizeof params, "rounds=%llu mib=%llu", (unsigned long long)rounds, (unsigned long long)mib);
  wl_report("brk_trim_regrow", params, ops, seconds);
  return 0;
}
