/* A small traced program for the record tests: runs its arguments as steps,
 * in order, with plain malloc so that any preloaded allocator sees them.
 *
 *   alloc N    malloc and free N blocks of 16..1040 bytes (keeps some live
 *              while it goes, so slabs fill and empty)
 *   mmap N     N mmap+munmap pairs of 1 MiB
 *   fork       fork; the child does `alloc 1000` and exits 0; wait for it
 *   orphan MS  fork a child that sleeps MS ms, allocates, exits; don't wait
 *   exit N     exit(N)
 *   signal N   raise(N)
 *   crash      write through a null pointer (SIGSEGV)
 *   sleep MS   sleep MS milliseconds
 *   uid        print "uid=<real uid> gid=<real gid>" on stdout
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void alloc_blocks(long n) {
  enum { kLive = 256 };
  void* live[kLive] = {0};
  unsigned seed = 12345;
  for (long i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    size_t slot = (seed >> 8) % kLive;
    free(live[slot]);
    live[slot] = malloc(16 + (seed >> 16) % 1025);
    if (live[slot]) memset(live[slot], 1, 16);
  }
  for (int i = 0; i < kLive; ++i) free(live[i]);
}

static void map_unmap(long n) {
  for (long i = 0; i < n; ++i) {
    void* p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      perror("mmap");
      exit(2);
    }
    munmap(p, 1 << 20);
  }
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* step = argv[i];
    long arg = i + 1 < argc ? strtol(argv[i + 1], NULL, 10) : 0;
    if (!strcmp(step, "alloc")) {
      alloc_blocks(arg);
      ++i;
    } else if (!strcmp(step, "mmap")) {
      map_unmap(arg);
      ++i;
    } else if (!strcmp(step, "fork")) {
      pid_t pid = fork();
      if (pid == 0) {
        alloc_blocks(1000);
        exit(0);
      }
      if (pid > 0) waitpid(pid, NULL, 0);
    } else if (!strcmp(step, "orphan")) {
      if (fork() == 0) {
        struct timespec ts = {arg / 1000, (arg % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        alloc_blocks(1000);
        exit(0);
      }
      ++i;
    } else if (!strcmp(step, "exit")) {
      exit((int)arg);
    } else if (!strcmp(step, "signal")) {
      signal((int)arg, SIG_DFL);
      raise((int)arg);
      ++i;
    } else if (!strcmp(step, "sleep")) {
      struct timespec ts = {arg / 1000, (arg % 1000) * 1000000L};
      nanosleep(&ts, NULL);
      ++i;
    } else if (!strcmp(step, "uid")) {
      printf("uid=%u gid=%u\n", (unsigned)getuid(), (unsigned)getgid());
      fflush(stdout);
    } else if (!strcmp(step, "crash")) {
      volatile int* null = NULL;
      *null = 1;
    } else {
      fprintf(stderr, "record_target: unknown step '%s'\n", step);
      return 2;
    }
  }
  return 0;
}
