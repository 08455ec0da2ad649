/* fixed_size_batches: one thread allocates a batch of blocks of one size,
 * then frees them all, for several sizes and batch lengths, in the shape
 * glibc's bench-malloc-simple describes (written here from that
 * description, not copied).
 *
 *   fixed_size_batches ITERS SEED
 *
 * For each batch length (25, 100, 400, 1600 blocks) and each size (16 to
 * 1024 bytes), ITERS times: malloc the batch, write each block's first
 * byte, free it in allocation order. SEED perturbs each size by a few bytes
 * so runs with different seeds exercise neighbouring classes. What is
 * measured is a tight malloc/free loop with no working set to speak of: the
 * allocator's fast paths and how it refills and empties a class.
 *
 * Prints: fixed_size_batches: ... ops=N seconds=X ops/s=N
 */
#include "workload_common.h"

static const size_t kSizes[] = {16, 32, 48, 64, 96, 128, 256, 512, 1024};
static const size_t kBatches[] = {25, 100, 400, 1600};
enum { MAX_BATCH = 1600 };

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s ITERS SEED\n", argv[0]);
    return 2;
  }
  const uint64_t iters = wl_arg(argc, argv, 1, 0, "ITERS");
  uint64_t rng = wl_arg(argc, argv, 2, 0, "SEED");
  static unsigned char *block[MAX_BATCH];
  uint64_t ops = 0, sum = 0;
  const double start = wl_now_seconds();
  for (size_t b = 0; b < sizeof kBatches / sizeof *kBatches; b++) {
    for (size_t s = 0; s < sizeof kSizes / sizeof *kSizes; s++) {
      const size_t n = kBatches[b], size = kSizes[s] - (size_t)(wl_rand(&rng) % 8);
      for (uint64_t i = 0; i < iters; i++) {
        for (size_t k = 0; k < n; k++) {
          block[k] = malloc(size);
          if (!block[k]) wl_out_of_memory(argv[0], size);
          block[k][0] = (unsigned char)k;
        }
        for (size_t k = 0; k < n; k++) {
          sum += block[k][0];
          free(block[k]);
        }
        ops += 2 * n;
      }
    }
  }
  const double seconds = wl_now_seconds() - start;
  char params[96];
  snprintf(params, sizeof params, "iters=%llu sum=%llu", (unsigned long long)iters,
           (unsigned long long)sum);
  wl_report("fixed_size_batches", params, ops, seconds);
  return 0;
}
