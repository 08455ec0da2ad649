/* Fixture for the probe's exact-sequence test: makes a known sequence of
 * mmap, partial munmap, mremap, madvise and brk calls from two threads, then
 * forks a child that maps too, and writes what it did (expected_call.h) to
 * the file named by argv[1].
 *
 * Between the two marker calls it makes no other traced syscall: calls go
 * through syscall(2) (exact arguments, no libc bookkeeping), clocks through
 * the vDSO, the fork through SYS_fork (no atfork handlers), and the thread
 * is created before and joined after the markers (its stack is mapped at
 * creation and trimmed with madvise at exit).
 */
#define _GNU_SOURCE
#include "expected_call.h"

#include <hakmem/syscall_record.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const char __executable_start[];
extern const char etext[];

/* Shared with the forked child, which appends its own calls. */
static struct {
  uint64_t count;
  struct hk_expected_call calls[HK_EXPECTED_MAX];
}* g_log;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct hk_expected_call* next_entry(uint32_t kind) {
  struct hk_expected_call* e = &g_log->calls[g_log->count++];
  e->kind = kind;
  e->pid = (uint32_t)getpid();
  e->tid = (uint32_t)syscall(SYS_gettid);
  return e;
}

/* noinline: `caller` must be a return address inside this program. */
__attribute__((noinline)) static long call(uint32_t nr, uint32_t nargs, uint64_t a0,
                                           uint64_t a1, uint64_t a2, uint64_t a3,
                                           uint64_t a4, uint64_t a5) {
  struct hk_expected_call* e = next_entry(HK_SYS_CALL);
  e->nr = nr;
  e->nargs = nargs;
  e->args[0] = a0, e->args[1] = a1, e->args[2] = a2;
  e->args[3] = a3, e->args[4] = a4, e->args[5] = a5;
  e->t0 = now_ns();
  long r = syscall(nr, a0, a1, a2, a3, a4, a5);
  e->t1 = now_ns();
  e->ret = r == -1 ? -errno : r;
  return r;
}

static void mmap_pair(size_t len) {
  long p = call(HK_NR_MMAP, 6, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                (uint64_t)-1, 0);
  call(HK_NR_MUNMAP, 2, (uint64_t)p, len, 0, 0, 0, 0);
}

/* A 32-bit syscall through int 0x80, where number 9 is link(2), not mmap:
 * the probe must not record it. Not logged: it must not appear. */
static void compat_link_call(void) {
  long ret;
  __asm__ volatile("int $0x80"
                   : "=a"(ret)
                   : "a"(HK_NR_MMAP), "b"(0), "c"(0)
                   : "r8", "r9", "r10", "r11", "memory");
  (void)ret;
}

static int thread_go[2], thread_done[2], thread_exit[2];

static void* thread_main(void* arg) {
  (void)arg;
  char c;
  if (read(thread_go[0], &c, 1) != 1) return NULL;
  mmap_pair(3 * 4096);
  if (write(thread_done[1], "d", 1) != 1) return NULL;
  if (read(thread_exit[0], &c, 1) != 1) return NULL;
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: syscall_sequence_helper OUTFILE\n");
    return 2;
  }
  const long page = sysconf(_SC_PAGESIZE);
  g_log = mmap(NULL, sizeof(*g_log), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pthread_t thread;
  if (g_log == MAP_FAILED || self_fd < 0 || out < 0 || pipe(thread_go) || pipe(thread_done) ||
      pipe(thread_exit) || pthread_create(&thread, NULL, thread_main, NULL)) {
    perror("syscall_sequence_helper: setup");
    return 1;
  }

  call(HK_NR_MADVISE, 3, 0, 0, HK_MARK_BEGIN, 0, 0, 0);

  /* Four pages; unmap the second, grow the last two into four elsewhere. */
  long a = call(HK_NR_MMAP, 6, 0, 4 * page, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
  call(HK_NR_MUNMAP, 2, (uint64_t)a + page, page, 0, 0, 0, 0);
  long b = call(HK_NR_MREMAP, 5, (uint64_t)a + 2 * page, 2 * page, 4 * page, MREMAP_MAYMOVE,
                0, 0);
  call(HK_NR_MADVISE, 3, (uint64_t)b, 4 * page, MADV_DONTNEED, 0, 0, 0);
  /* A file mapping: fd and offset arguments that are not 0 / -1. */
  long f = call(HK_NR_MMAP, 6, 0, page, PROT_READ, MAP_PRIVATE, (uint64_t)self_fd, page);
  call(HK_NR_MUNMAP, 2, (uint64_t)f, page, 0, 0, 0, 0);
  compat_link_call();
  /* A failing call: the kernel's -EINVAL must come through. */
  call(HK_NR_MUNMAP, 2, (uint64_t)a + 1, page, 0, 0, 0, 0);
  long brk0 = call(HK_NR_BRK, 1, 0, 0, 0, 0, 0, 0);
  call(HK_NR_BRK, 1, (uint64_t)brk0 + 16 * page, 0, 0, 0, 0, 0);
  call(HK_NR_BRK, 1, (uint64_t)brk0, 0, 0, 0, 0, 0);
  call(HK_NR_MUNMAP, 2, (uint64_t)a, page, 0, 0, 0, 0);
  call(HK_NR_MUNMAP, 2, (uint64_t)b, 4 * page, 0, 0, 0, 0);

  /* Another thread: same pid, its own tid. */
  char c;
  if (write(thread_go[1], "g", 1) != 1 || read(thread_done[0], &c, 1) != 1) return 1;

  /* A child process, followed through sched_process_fork. */
  struct hk_expected_call* fork_entry = next_entry(HK_SYS_FORK);
  fork_entry->t0 = now_ns();
  long child = syscall(SYS_fork);
  if (child == 0) {
    mmap_pair(2 * page);
    struct hk_expected_call* exit_entry = next_entry(HK_SYS_EXIT);
    exit_entry->t0 = now_ns();
    syscall(SYS_exit_group, 0);
  }
  fork_entry->t1 = now_ns();
  fork_entry->args[0] = fork_entry->args[1] = (uint64_t)child;
  int status = 0;
  if (child < 0 || waitpid((pid_t)child, &status, 0) != child || status != 0) return 1;
  g_log->calls[g_log->count - 1].t1 = now_ns(); /* the child's exit entry */

  call(HK_NR_MADVISE, 3, 0, 0, HK_MARK_END, 0, 0, 0);

  if (write(thread_exit[1], "x", 1) != 1 || pthread_join(thread, NULL)) return 1;
  struct hk_expected_header h = {HK_EXPECTED_MAGIC, g_log->count,
                                 (uint64_t)__executable_start, (uint64_t)etext};
  size_t body = g_log->count * sizeof(g_log->calls[0]);
  if (write(out, &h, sizeof h) != (ssize_t)sizeof h ||
      write(out, g_log->calls, body) != (ssize_t)body || close(out) != 0) {
    perror("syscall_sequence_helper: write");
    return 1;
  }
  return 0;
}
