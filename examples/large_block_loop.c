/* large_block_loop: malloc, touch every page, free, over and over, with
 * sizes from 128 KiB to 4 MiB. An allocator that hands each large block
 * straight back to the kernel pays an mmap, a munmap and a page fault per
 * page on every iteration; one that caches large blocks pays none of them.
 *
 *   large_block_loop ITERS SEED
 *
 * Sizes are log-uniform (a power-of-two band from 128 KiB..4 MiB, then
 * uniform bytes inside it) so that every band is exercised equally and few
 * sizes are page multiples. Prints:
 *   large_block_loop: ... ops=2*ITERS seconds=X ops/s=N
 */
#include "workload_common.h"

enum { PAGE = 4096, MIN_SHIFT = 17 /* 128 KiB */, MAX_SHIFT = 22 /* 4 MiB */ };

static size_t pick_size(uint64_t *rng) {
  unsigned shift = MIN_SHIFT + (unsigned)(wl_rand(rng) % (MAX_SHIFT - MIN_SHIFT));
  return wl_rand_between(rng, (size_t)1 << shift, (size_t)1 << (shift + 1));
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s ITERS SEED\n", argv[0]);
    return 2;
  }
  uint64_t iters = wl_arg(argc, argv, 1, 0, "ITERS");
  uint64_t seed = wl_arg(argc, argv, 2, 0, "SEED");
  uint64_t rng = seed;

  double start = wl_now_seconds();
  for (uint64_t i = 0; i < iters; i++) {
    size_t size = pick_size(&rng);
    volatile unsigned char *p = malloc(size);
    if (!p) wl_out_of_memory(argv[0], size);
    for (size_t off = 0; off < size; off += PAGE) p[off] = (unsigned char)i;
    p[size - 1] = (unsigned char)size;
    free((void *)p);
  }
  double seconds = wl_now_seconds() - start;

  char params[96];
  snprintf(params, sizeof params, "iters=%llu seed=%llu", (unsigned long long)iters,
           (unsigned long long)seed);
  wl_report("large_block_loop", params, 2 * iters, seconds);
  return 0;
}
