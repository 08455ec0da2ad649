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
 *   plant DIR  plant hostile rings next to this process's own (as root): a
 *              copy of it named as an earlier image of this pid would be and
 *              owned by nobody, and a link to DIR/copy.ring (a copy owned by
 *              us, so only the link check keeps it out); DIR/pristine.ring
 *              is the same bytes, for the test to compare
 *   threads N MS  N threads allocate and free for MS ms while the main thread
 *              waits; then SIGKILLs itself, mid-allocation
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
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

static void copy_file(const char* from, const char* to) {
  int in = open(from, O_RDONLY);
  int out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (in < 0 || out < 0) {
    perror("plant: open");
    exit(2);
  }
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) {
      perror("plant: write");
      exit(2);
    }
  close(in);
  close(out);
}

/* The ring this process writes: "<HAKMEM_RING>.<pid>.<ns>". */
static void plant(const char* dir) {
  const char* prefix = getenv("HAKMEM_RING");
  if (!prefix) {
    fprintf(stderr, "plant: HAKMEM_RING is not set\n");
    exit(2);
  }
  char ring_dir[4096], own[4608] = "", path[4608];
  snprintf(ring_dir, sizeof ring_dir, "%s", prefix);
  char* slash = strrchr(ring_dir, '/');
  if (!slash) exit(2);
  *slash = 0;
  char stem[256];
  snprintf(stem, sizeof stem, "%s.%d.", slash + 1, (int)getpid());
  DIR* d = opendir(ring_dir);
  struct dirent* e;
  while (d && (e = readdir(d)))
    if (!strncmp(e->d_name, stem, strlen(stem)))
      snprintf(own, sizeof own, "%s/%s", ring_dir, e->d_name);
  if (d) closedir(d);
  if (!*own) {
    fprintf(stderr, "plant: no ring of pid %d in %s\n", (int)getpid(), ring_dir);
    exit(2);
  }
  snprintf(path, sizeof path, "%s/%s1", ring_dir, stem);
  copy_file(own, path);
  if (chown(path, 65534, 65534) != 0) {
    perror("plant: chown");
    exit(2);
  }
  char copy[4096], pristine[4096];
  snprintf(copy, sizeof copy, "%s/copy.ring", dir);
  snprintf(pristine, sizeof pristine, "%s/pristine.ring", dir);
  copy_file(own, copy);
  copy_file(copy, pristine);
  snprintf(path, sizeof path, "%s/%s2", ring_dir, stem);
  if (symlink(copy, path) != 0) {
    perror("plant: symlink");
    exit(2);
  }
}

static void* churn(void* arg) {
  (void)arg;
  for (;;) alloc_blocks(1000);
  return NULL;
}

/* N threads allocate; after MS ms the process SIGKILLs itself, so each
 * thread dies wherever it is, mid-allocation. */
static void threads_then_kill(long n, long ms) {
  for (long i = 0; i < n; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, churn, NULL) != 0) exit(2);
  }
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  raise(SIGKILL);
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
    } else if (!strcmp(step, "plant") && i + 1 < argc) {
      plant(argv[++i]);
    } else if (!strcmp(step, "threads") && i + 2 < argc) {
      threads_then_kill(arg, strtol(argv[i + 2], NULL, 10));
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
