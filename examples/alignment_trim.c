/* alignment_trim: the program's own mappings land where the allocator
 * wanted its next SuperSlab, so every new SuperSlab costs trims.
 *
 *   alignment_trim [STEPS]   default: 80
 *
 * hakmem maps each SuperSlab (an aligned 2 MiB region) with one mmap at a
 * hint just below the previous one; when that spot is taken it maps twice
 * the size and unmaps the excess on both sides to reach alignment. The
 * kernel hands out addresses top-down, so a program that maps a small
 * buffer of its own between allocation bursts takes exactly that spot.
 * Each step here allocates (and keeps) a bit over one SuperSlab of small
 * objects, then maps a 3 MiB buffer of its own (bigger than any hole a trim
 * leaves, so it always lands right below the lowest mapping):
 * `hakmem-analyze report` names the extra munmaps alignment_trim.
 */
#include "workload_common.h"

#include <sys/mman.h>

int main(int argc, char **argv) {
  const uint64_t steps = wl_arg(argc, argv, 1, 80, "STEPS");
  const size_t burst = (size_t)9 << 18; /* 2.25 MiB of objects per step */
  uint64_t ops = 0;
  const double t0 = wl_now_seconds();
  for (uint64_t s = 0; s < steps; s++) {
    for (size_t bytes = 0; bytes < burst; bytes += 1024) {
      unsigned char *p = malloc(1000); /* kept: the program's live data */
      if (!p) wl_out_of_memory(argv[0], 1000);
      p[0] = (unsigned char)s;
      ops++;
    }
    void *buf = mmap(NULL, 3 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) wl_out_of_memory(argv[0], 3 << 20);
    ((unsigned char *)buf)[0] = 1;
  }
  const double seconds = wl_now_seconds() - t0;
  char params[64];
  snprintf(params, sizeof params, "steps=%llu", (unsigned long long)steps);
  wl_report("alignment_trim", params, ops, seconds);
  return 0;
}
