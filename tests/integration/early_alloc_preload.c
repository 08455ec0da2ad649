/* libhk_early_alloc.so: preloaded beside libhakmem.so, it allocates from its
 * constructor, before main and possibly before hakmem's own constructor has
 * run, including from a thread started there. It reports on stderr, with
 * write(2), whether hakmem owned every block:
 *   "hk_early_alloc: ok, 7 blocks, hakmem_owns=1"
 * or the first thing that went wrong. early_init_test reads that line. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*owns_fn)(const void*);

static void say(const char* line) {
  ssize_t ignored = write(2, line, strlen(line));
  (void)ignored;
}

static void* thread_allocates(void* arg) {
  (void)arg;
  char* p = malloc(200);
  if (p != NULL) memset(p, 7, 200);
  return p; /* freed by the constructor's thread */
}

__attribute__((constructor(101))) static void allocate_before_main(void) {
  void* blocks[7] = {0};
  blocks[0] = malloc(24);
  blocks[1] = calloc(100, 10);
  blocks[2] = realloc(malloc(10), 70000);
  blocks[3] = malloc(5u << 20);
  if (posix_memalign(&blocks[4], 4096, 300) != 0) blocks[4] = NULL;
  blocks[5] = strdup("allocated before main");
  pthread_t t;
  if (pthread_create(&t, NULL, thread_allocates, NULL) != 0 || pthread_join(t, &blocks[6]) != 0)
    blocks[6] = NULL;

  owns_fn owns = (owns_fn)dlsym(RTLD_DEFAULT, "hakmem_owns");
  int all_owned = owns != NULL;
  for (int i = 0; i < 7; ++i) {
    if (blocks[i] == NULL) {
      say("hk_early_alloc: an allocation before main returned NULL\n");
      _exit(3);
    }
    if (owns != NULL && owns(blocks[i]) != 1) all_owned = 0;
  }
  for (int i = 0; i < 7; ++i) free(blocks[i]);
  say(all_owned ? "hk_early_alloc: ok, 7 blocks, hakmem_owns=1\n"
                : "hk_early_alloc: ok, 7 blocks, hakmem_owns=0\n");
}
