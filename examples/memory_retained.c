/* memory_retained: frees almost everything, keeps running, memory stays.
 *
 *   memory_retained [MIB [MS]]   default: 64 MiB, then 600 ms of small work
 *
 * Allocates MIB of 256-byte blocks, frees all but one in 64 (every slab
 * keeps two live blocks, so none can empty), then runs on for MS
 * milliseconds with a little malloc/free of another size before it exits.
 * Under hakmem `hakmem-analyze record` then `report` names this
 * memory_retained: what is still mapped, and what holds it.
 */
#include "workload_common.h"

int main(int argc, char **argv) {
  const uint64_t mib = wl_arg(argc, argv, 1, 64, "MIB");
  const uint64_t ms = wl_arg(argc, argv, 2, 600, "MS");
  const size_t size = 256;
  const size_t count = (size_t)(mib << 20) / size;
  unsigned char **blocks = malloc(count * sizeof *blocks);
  if (!blocks) wl_out_of_memory(argv[0], count * sizeof *blocks);
  uint64_t ops = 0;
  const double t0 = wl_now_seconds();
  for (size_t i = 0; i < count; i++) {
    blocks[i] = malloc(size);
    if (!blocks[i]) wl_out_of_memory(argv[0], size);
    blocks[i][0] = (unsigned char)i;
  }
  for (size_t i = 0; i < count; i++)
    if (i % 64 != 0) free(blocks[i]), blocks[i] = NULL;
  ops += 2 * count;
  // The program goes on with other work; the freed memory is not needed.
  const double until = wl_now_seconds() + (double)ms / 1000.0;
  while (wl_now_seconds() < until) {
    for (int i = 0; i < 1000; i++) {
      unsigned char *p = malloc(48);
      if (!p) wl_out_of_memory(argv[0], 48);
      p[0] = (unsigned char)i;
      free(p);
    }
    ops += 2000;
  }
  const double seconds = wl_now_seconds() - t0;
  for (size_t i = 0; i < count; i += 64) free(blocks[i]);
  free(blocks);
  char params[64];
  snprintf(params, sizeof params, "mib=%llu ms=%llu", (unsigned long long)mib, (unsigned long long)ms);
  wl_report("memory_retained", params, ops, seconds);
  return 0;
}
