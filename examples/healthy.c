/* healthy: an ordinary program that any good allocator serves without
 * churn: the report for it must raise no diagnosis.
 *
 *   healthy [ROUNDS]   default: 40
 *
 * Each round builds a table of strings and small records (a few thousand
 * objects of mixed sizes), looks things up, frees most of it but keeps a
 * small long-lived part, and reuses one 256 KiB buffer: a steady working
 * set, no huge blocks, no mappings of its own.
 */
#include "workload_common.h"

#include <string.h>

struct record {
  struct record *next;
  char *name;
  uint64_t value;
};

int main(int argc, char **argv) {
  const uint64_t rounds = wl_arg(argc, argv, 1, 40, "ROUNDS");
  enum { kBuckets = 1024, kPerRound = 4000 };
  struct record *table[kBuckets];
  struct record *kept = NULL;
  uint64_t rng = 42, ops = 0, hits = 0;
  unsigned char *buffer = malloc(256 << 10);
  if (!buffer) wl_out_of_memory(argv[0], 256 << 10);
  const double t0 = wl_now_seconds();
  for (uint64_t r = 0; r < rounds; r++) {
    memset(table, 0, sizeof table);
    for (int i = 0; i < kPerRound; i++) {
      const size_t len = wl_rand_between(&rng, 8, 200);
      struct record *rec = malloc(sizeof *rec);
      if (!rec) wl_out_of_memory(argv[0], sizeof *rec);
      rec->name = malloc(len);
      if (!rec->name) wl_out_of_memory(argv[0], len);
      memset(rec->name, 'a' + i % 26, len - 1);
      rec->name[len - 1] = '\0';
      rec->value = wl_rand(&rng);
      const size_t b = rec->value % kBuckets;
      rec->next = table[b];
      table[b] = rec;
      ops += 2;
    }
    for (int i = 0; i < kPerRound; i++) hits += table[wl_rand(&rng) % kBuckets] != NULL;
    buffer[r % (256 << 10)] = (unsigned char)hits;
    for (size_t b = 0; b < kBuckets; b++) {
      struct record *rec = table[b];
      while (rec) {
        struct record *next = rec->next;
        if (b == r % kBuckets && kept == NULL) {
          rec->next = kept; /* a long-lived survivor */
          kept = rec;
        } else {
          free(rec->name);
          free(rec);
          ops += 2;
        }
        rec = next;
      }
    }
  }
  const double seconds = wl_now_seconds() - t0;
  while (kept) {
    struct record *next = kept->next;
    free(kept->name);
    free(kept);
    kept = next;
  }
  free(buffer);
  char params[64];
  snprintf(params, sizeof params, "rounds=%llu hits=%llu", (unsigned long long)rounds,
           (unsigned long long)hits);
  wl_report("healthy", params, ops, seconds);
  return 0;
}
