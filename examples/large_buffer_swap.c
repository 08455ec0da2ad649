/* large_buffer_swap: a handful of big buffers, each replaced over and over
 * by a new one of a random size, in the shape of mimalloc-bench's
 * malloc-large (written here from its description, not copied).
 *
 *   large_buffer_swap ITERS BUFFERS SEED
 *
 * BUFFERS slots hold buffers of 5..25 MiB. Each iteration picks a slot,
 * frees its buffer and allocates a new one of a random size, filled whole
 * as make_unique<char[]>(n) zero-fills it (with a non-zero byte here, which
 * a compiler cannot turn into calloc), so every page is written. The live
 * set (BUFFERS x 15 MiB on average) is past a fixed 64 MiB cache: an
 * allocator that unmaps freed buffers pays a mmap, a munmap and a page
 * fault per page for each one; one that keeps them writes warm pages.
 *
 * Prints: large_buffer_swap: ... ops=N seconds=X ops/s=N (ops counts
 * every malloc and every free).
 */
#include <string.h>

#include "workload_common.h"

enum { MIN_SIZE = 5 << 20, MAX_SIZE = 25 << 20, MAX_BUFFERS = 1024 };

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s ITERS BUFFERS SEED\n", argv[0]);
    return 2;
  }
  const uint64_t iters = wl_arg(argc, argv, 1, 0, "ITERS");
  const uint64_t buffers = wl_arg(argc, argv, 2, 0, "BUFFERS");
  uint64_t rng = wl_arg(argc, argv, 3, 0, "SEED");
  if (buffers == 0 || buffers > MAX_BUFFERS) {
    fprintf(stderr, "%s: need 1 <= BUFFERS <= %d\n", argv[0], MAX_BUFFERS);
    return 2;
  }
  char *slot[MAX_BUFFERS] = {0};
  uint64_t ops = 0, sum = 0;
  const double start = wl_now_seconds();
  for (uint64_t i = 0; i < iters; i++) {
    const size_t k = wl_rand(&rng) % buffers;
    const size_t size = wl_rand_between(&rng, MIN_SIZE, MAX_SIZE);
    if (slot[k]) {
      free(slot[k]);
      ops++;
    }
    slot[k] = malloc(size);
    if (!slot[k]) wl_out_of_memory(argv[0], size);
    memset(slot[k], (int)(i % 255) + 1, size);
    sum += (unsigned char)slot[k][size / 2];
    ops++;
  }
  for (uint64_t k = 0; k < buffers; k++) {
    if (slot[k]) ops++;
    free(slot[k]);
  }
  const double seconds = wl_now_seconds() - start;
  char params[128];
  snprintf(params, sizeof params, "iters=%llu buffers=%llu sum=%llu", (unsigned long long)iters,
           (unsigned long long)buffers, (unsigned long long)sum);
  wl_report("large_buffer_swap", params, ops, seconds);
  return 0;
}
