/* The multi-threaded allocator stress (issue 12): THREADS workers for
 * SECONDS, each doing a random mix of
 *   - malloc, memalign, posix_memalign, aligned_alloc with random sizes and
 *     power-of-two alignments up to 64 KiB (alignment checked);
 *   - realloc chains that grow and shrink one block across size classes and
 *     into large blocks (up to 4 MiB), checking the kept prefix each step;
 *   - cross-thread frees through a shared array of exchange slots;
 * while workers exit after a quota and are replaced (thread churn), and one
 * thread forks every 50 ms while the others allocate; the child allocates,
 * checks and frees on its own and must exit 0 (no lock left held by a
 * thread that does not exist in it).
 *   mt_stress [SECONDS] [THREADS] [RSS_LIMIT_MIB] */
#include "stress_common.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kExchange = 512, kLocal = 128, kQuota = 5000 };

static _Atomic(void*) g_slot[kExchange];
static uint64_t g_end;
static atomic_ullong g_ops, g_forks, g_threads_run;

/* Realloc chains keep their content across moves, so their pattern cannot
 * depend on the address: byte i of a chain is (tag + i * 7). */
static void chain_fill(unsigned char* c, size_t from, size_t to, unsigned char tag) {
  /* Every byte: a later shrink makes any byte the new tail that is checked. */
  for (size_t i = from; i < to; ++i) c[i] = (unsigned char)(tag + i * 7);
}
static void chain_check(const unsigned char* c, size_t n, unsigned char tag) {
  for (size_t i = 0; i < n; i += (i < 64 || i + 64 >= n) ? 1 : 509)
    if (c[i] != (unsigned char)(tag + i * 7)) {
      fprintf(stderr, "mt_stress: realloc chain %p lost byte %zu of %zu\n", (void*)c, i, n);
      exit(1);
    }
}

static void* aligned(uint64_t* seed, size_t n, size_t* align_out) {
  uint64_t r = hk_rand(seed);
  size_t align = (size_t)1 << (3 + (r % 14)); /* 8 .. 64 KiB */
  void* p = NULL;
  switch ((r >> 8) % 3) {
    case 0: p = memalign(align, n); break;
    case 1:
      if (posix_memalign(&p, align, n) != 0) p = NULL;
      break;
    default: p = aligned_alloc(align, (n + align - 1) / align * align); break;
  }
  if (!p || ((uintptr_t)p & (align - 1))) {
    fprintf(stderr, "mt_stress: %zu bytes aligned to %zu gave %p\n", n, align, p);
    exit(1);
  }
  *align_out = align;
  return p;
}

static void realloc_chain(uint64_t* seed) {
  unsigned char tag = (unsigned char)hk_rand(seed);
  size_t n = 1 + (size_t)(hk_rand(seed) % 64);
  unsigned char* c = malloc(n);
  if (!c) exit(1);
  chain_fill(c, 0, n, tag);
  for (int step = 0; step < 12; ++step) {
    uint64_t r = hk_rand(seed);
    /* Mostly grow (x1.5 .. x4), sometimes shrink to a quarter; capped at 4 MiB. */
    size_t m = r % 4 == 0 ? n / 4 + 1 : n + n / 2 + (size_t)((r >> 8) % (n * 2 + 1));
    if (m > (4u << 20)) m = 1 + (size_t)((r >> 8) % 4096);
    unsigned char* d = realloc(c, m);
    if (!d) exit(1);
    chain_check(d, n < m ? n : m, tag);
    if (m > n) chain_fill(d, n, m, tag);
    c = d, n = m;
  }
  free(c);
}

/* A block in an exchange slot carries its size in its first bytes (the
 * slot is one pointer, swapped atomically); the taker puts the pattern
 * back before checking it. */
static void* handoff_prepare(void* p, size_t n) {
  memcpy(p, &n, sizeof n);
  return p;
}
static void handoff_free(void* p) {
  if (!p) return;
  size_t n;
  memcpy(&n, p, sizeof n);
  unsigned char* c = (unsigned char*)p;
  for (size_t i = 0; i < sizeof n; ++i) c[i] = hk_pattern(p, i, n);
  hk_check(p, n, "mt_stress");
  free(p);
}

static void* worker(void* arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg * 0x2545f4914f6cdd1dull + 7;
  void* local[kLocal] = {0};
  size_t local_n[kLocal] = {0};
  for (int i = 0; i < kQuota && hk_now_ns() < g_end; ++i) {
    uint64_t r = hk_rand(&seed);
    size_t k = (r >> 16) % kLocal;
    switch (r % 8) {
      case 0: case 1: case 2: { /* plain */
        if (local[k]) hk_check(local[k], local_n[k], "mt_stress"), free(local[k]);
        local_n[k] = hk_rand_size(&seed);
        local[k] = malloc(local_n[k]);
        if (!local[k]) exit(1);
        hk_fill(local[k], local_n[k]);
        break;
      }
      case 3: case 4: { /* aligned */
        if (local[k]) hk_check(local[k], local_n[k], "mt_stress"), free(local[k]);
        size_t align;
        local_n[k] = 1 + (size_t)(hk_rand(&seed) % 100000);
        local[k] = aligned(&seed, local_n[k], &align);
        hk_fill(local[k], local_n[k]);
        break;
      }
      case 5: realloc_chain(&seed); break;
      default: { /* hand a block to whichever thread takes this slot next */
        if (!local[k] || local_n[k] < sizeof(size_t)) break;
        handoff_free(atomic_exchange(&g_slot[(r >> 24) % kExchange], handoff_prepare(local[k], local_n[k])));
        local[k] = NULL;
        break;
      }
    }
    atomic_fetch_add_explicit(&g_ops, 1, memory_order_relaxed);
  }
  for (int k = 0; k < kLocal; ++k)
    if (local[k]) hk_check(local[k], local_n[k], "mt_stress"), free(local[k]);
  atomic_fetch_add(&g_threads_run, 1);
  return NULL;
}

/* Forks while the workers allocate; the child must be able to allocate. */
static void* forker(void* arg) {
  (void)arg;
  uint64_t seed = 99;
  while (hk_now_ns() < g_end) {
    pid_t pid = fork();
    if (pid == 0) {
      for (int i = 0; i < 2000; ++i) {
        size_t n = hk_rand_size(&seed);
        void* p = malloc(n);
        if (!p) _exit(3);
        hk_fill(p, n);
        hk_check(p, n, "mt_stress child");
        free(p);
      }
      realloc_chain(&seed);
      _exit(0);
    }
    if (pid < 0) exit(1);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "mt_stress: forked child ended with status %#x\n", st);
      exit(1);
    }
    atomic_fetch_add(&g_forks, 1);
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

int main(int argc, char** argv) {
  struct hk_args a = hk_parse(argc, argv, 3, 8, 1024);
  hk_require_hakmem("mt_stress");
  /* A child stuck on a lock the fork left held would hang the test: bound it. */
  alarm((unsigned)a.seconds + 60);
  g_end = hk_now_ns() + (uint64_t)(a.seconds * 1e9);
  pthread_t t[256], f;
  for (int i = 0; i < a.threads; ++i) pthread_create(&t[i], NULL, worker, (void*)(uintptr_t)(i + 1));
  pthread_create(&f, NULL, forker, NULL);
  /* Thread churn: a worker that used its quota is replaced at once. */
  uint64_t next_id = (uint64_t)a.threads + 1;
  while (hk_now_ns() < g_end) {
    for (int i = 0; i < a.threads; ++i) {
      pthread_join(t[i], NULL);
      if (hk_now_ns() < g_end) pthread_create(&t[i], NULL, worker, (void*)(uintptr_t)next_id++);
      else t[i] = 0;
    }
  }
  for (int i = 0; i < a.threads; ++i)
    if (t[i]) pthread_join(t[i], NULL);
  pthread_join(f, NULL);
  for (int s = 0; s < kExchange; ++s) handoff_free(atomic_exchange(&g_slot[s], NULL));
  printf("mt_stress: %d threads, %llu threads run, %llu forks\n", a.threads,
         (unsigned long long)atomic_load(&g_threads_run), (unsigned long long)atomic_load(&g_forks));
  if (atomic_load(&g_forks) == 0) {
    fprintf(stderr, "mt_stress: no fork completed\n");
    return 1;
  }
  return hk_finish("mt_stress", atomic_load(&g_ops), a.rss_limit_mib);
}
