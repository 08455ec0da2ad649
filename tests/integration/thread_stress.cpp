// hk_thread_stress: a multi-threaded workload that hands blocks between
// threads, creates and retires threads in a loop, and forks while other
// threads are allocating. Every block carries a pattern that is verified
// (together with hakmem_owns) before it is freed.
//
// Run by thread_stress_test under LD_PRELOAD with HAKMEM_STATS=1; also linked
// against libhakmem.so for hakmem_owns. Prints one line per phase on stdout
// and exits 0; on the first bad block or failed child it prints the reason on
// stderr and exits 1.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <hakmem/hakmem.h>

namespace {

[[noreturn]] void fail(const char* what, const void* p, std::size_t n) {
  fprintf(stderr, "hk_thread_stress: %s (block %p, size %zu)\n", what, p, n);
  fflush(stderr);
  _exit(1);
}

struct Block {
  unsigned char* p = nullptr;
  std::size_t n = 0;
  std::uint32_t seed = 0;
};

// xorshift: each thread draws its own sizes and seeds.
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

// Mostly small-class sizes, some medium, a few large enough to be mapped alone.
std::size_t draw_size(Rng& r) {
  std::uint64_t x = r.next() % 1000;
  if (x < 900) return 16 + r.next() % (1040 - 16 + 1);
  if (x < 990) return 1041 + r.next() % (65536 - 1041);
  return 65537 + r.next() % (1 << 20);
}

// Patterns touch the first and last 64 bytes and every 4 KiB in between,
// so large blocks are checked without writing all of them.
template <class F>
void for_each_checked_byte(std::size_t n, F f) {
  for (std::size_t i = 0; i < n && i < 64; ++i) f(i);
  for (std::size_t i = 64; i + 64 < n; i += 4096) f(i);
  for (std::size_t i = n > 64 ? n - 64 : 64; i < n; ++i) f(i);
}

unsigned char pattern_byte(std::size_t i, std::uint32_t seed) {
  return static_cast<unsigned char>((i * 2654435761u + seed) >> 3);
}

Block make_block(Rng& r) {
  const std::size_t n = draw_size(r);
  const auto seed = static_cast<std::uint32_t>(r.next());
  const Block b{static_cast<unsigned char*>(malloc(n)), n, seed};
  if (b.p == nullptr) fail("malloc returned NULL", nullptr, b.n);
  for_each_checked_byte(b.n, [&](std::size_t i) { b.p[i] = pattern_byte(i, b.seed); });
  if (hakmem_owns(b.p) != 1) fail("hakmem does not own a block malloc returned", b.p, b.n);
  return b;
}

void verify(const Block& b) {
  if (hakmem_owns(b.p) != 1) fail("hakmem does not own a live block", b.p, b.n);
  for_each_checked_byte(b.n, [&](std::size_t i) {
    if (b.p[i] != pattern_byte(i, b.seed)) fail("live block was overwritten", b.p, b.n);
  });
}

void verify_and_free(const Block& b) {
  verify(b);
  free(b.p);
}

double now_s() {
  timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// A bounded queue between producers and consumers; std::mutex and
// std::condition_variable never allocate, so the queue itself adds nothing
// to the allocator traffic under test.
class BlockQueue {
 public:
  explicit BlockQueue(std::size_t capacity) : slots_(capacity) {}

  void push(const Block& b) {
    std::unique_lock<std::mutex> lock(m_);
    not_full_.wait(lock, [&] { return count_ < slots_.size(); });
    slots_[(head_ + count_) % slots_.size()] = b;
    ++count_;
    not_empty_.notify_one();
  }

  // False once the queue is closed and empty.
  bool pop(Block& out) {
    std::unique_lock<std::mutex> lock(m_);
    not_empty_.wait(lock, [&] { return count_ > 0 || closed_; });
    if (count_ == 0) return false;
    out = slots_[head_];
    head_ = (head_ + 1) % slots_.size();
    --count_;
    not_full_.notify_one();
    return true;
  }

  void close() {
    std::lock_guard<std::mutex> lock(m_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable not_full_, not_empty_;
  std::vector<Block> slots_;
  std::size_t head_ = 0, count_ = 0;
  bool closed_ = false;
};

// Phase 1: producers allocate, consumers (other threads) verify and free,
// sometimes after a realloc on the consumer's side. Producers also churn a
// private working set so local and remote frees interleave.
void producer_consumer(int producers, int consumers, int blocks_each) {
  BlockQueue queue(4096);
  std::atomic<long> consumed{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&, c] {
      Rng r{0x9e3779b97f4a7c15ull + static_cast<std::uint64_t>(c)};
      Block b;
      while (queue.pop(b)) {
        verify(b);
        if (r.next() % 8 == 0) {
          std::size_t keep = b.n < 64 ? b.n : 64;
          auto* q = static_cast<unsigned char*>(realloc(b.p, b.n * 2 + 1));
          if (q == nullptr) fail("cross-thread realloc returned NULL", b.p, b.n);
          for (std::size_t i = 0; i < keep; ++i)
            if (q[i] != pattern_byte(i, b.seed)) fail("cross-thread realloc lost contents", q, b.n);
          b.p = q;
        }
        if (hakmem_owns(b.p) != 1) fail("hakmem does not own a consumed block", b.p, b.n);
        free(b.p);
        consumed.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::vector<std::thread> makers;
  for (int p = 0; p < producers; ++p) {
    makers.emplace_back([&, p] {
      Rng r{0x1234567ull * static_cast<std::uint64_t>(p + 1)};
      Block local[64];
      for (auto& b : local) b = make_block(r);
      for (int i = 0; i < blocks_each; ++i) {
        queue.push(make_block(r));
        Block& slot = local[r.next() % 64];
        verify_and_free(slot);
        slot = make_block(r);
      }
      for (auto& b : local) verify_and_free(b);
    });
  }
  for (auto& t : makers) t.join();
  queue.close();
  for (auto& t : threads) t.join();
  if (consumed.load() != static_cast<long>(producers) * blocks_each)
    fail("a handed-over block was lost", nullptr, static_cast<std::size_t>(consumed.load()));
  printf("producer/consumer ok: %d producers, %d consumers, %ld blocks handed over\n", producers,
         consumers, consumed.load());
}

// A thread-specific value whose destructor runs at thread exit, possibly
// after hakmem has flushed the thread's caches: it frees the thread's block
// and allocates and frees more, which must still work.
pthread_key_t g_exit_key;
std::atomic<long> g_exit_destructor_runs{0};

void exit_destructor(void* value) {
  auto* b = static_cast<Block*>(value);
  verify_and_free(*b);
  Rng r{reinterpret_cast<std::uintptr_t>(value) | 1};
  for (int i = 0; i < 20; ++i) verify_and_free(make_block(r));
  delete b;
  g_exit_destructor_runs.fetch_add(1, std::memory_order_relaxed);
}

// Phase 2: short-lived threads. Each allocates, frees half itself and leaves
// the rest to the main thread, which frees them after the thread has exited
// (those frees must not revive the dead thread's caches).
void thread_churn(int rounds, int threads_per_round) {
  if (pthread_key_create(&g_exit_key, exit_destructor) != 0) fail("pthread_key_create", nullptr, 0);
  long handed = 0;
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::vector<Block>> leftovers(static_cast<std::size_t>(threads_per_round));
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_per_round; ++t) {
      threads.emplace_back([&, t] {
        Rng r{static_cast<std::uint64_t>(round * 131 + t + 1) * 0x2545F4914F6CDD1Dull};
        std::vector<Block> mine;
        for (int i = 0; i < 200; ++i) mine.push_back(make_block(r));
        for (std::size_t i = 0; i < mine.size(); ++i) {
          if (i % 2) leftovers[static_cast<std::size_t>(t)].push_back(mine[i]);
          else verify_and_free(mine[i]);
        }
        pthread_setspecific(g_exit_key, new Block(make_block(r)));
      });
    }
    for (auto& t : threads) t.join();
    for (auto& list : leftovers)
      for (const Block& b : list) {
        verify_and_free(b);
        ++handed;
      }
  }
  if (g_exit_destructor_runs.load() != static_cast<long>(rounds) * threads_per_round)
    fail("a thread-exit destructor did not run", nullptr, 0);
  printf("thread churn ok: %d rounds of %d threads, %ld blocks freed after their thread exited\n",
         rounds, threads_per_round, handed);
}

// Phase 3: many heaps at once. Every thread allocates a batch, then frees
// the batch of the thread next to it, so each thread's blocks are freed by
// another thread while both are alive.
void many_threads_ring(int threads) {
  std::vector<std::vector<Block>> batches(static_cast<std::size_t>(threads));
  std::atomic<int> filled{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Rng r{static_cast<std::uint64_t>(t + 1) * 0xA0761D6478BD642Full};
      auto& mine = batches[static_cast<std::size_t>(t)];
      for (int i = 0; i < 300; ++i) mine.push_back(make_block(r));
      filled.fetch_add(1);
      while (filled.load() < threads) std::this_thread::yield();
      for (const Block& b : batches[static_cast<std::size_t>((t + 1) % threads)]) verify_and_free(b);
    });
  }
  for (auto& t : pool) t.join();
  printf("many threads ok: %d threads alive at once, each freeing its neighbour's blocks\n",
         threads);
}

// The child of a fork from a threaded parent: it must find a working heap,
// the parent's blocks intact, and be able to start threads of its own.
[[noreturn]] void forked_child(std::vector<Block>& inherited, int round) {
  alarm(10);  // a deadlocked allocator in the child ends in SIGALRM, not a hung test
  for (std::size_t i = 0; i < inherited.size(); ++i) {
    verify(inherited[i]);
    if (i % 2 == 0) free(inherited[i].p);
  }
  Rng r{static_cast<std::uint64_t>(round + 7) * 0x9E3779B97F4A7C15ull};
  std::vector<Block> mine;
  for (int i = 0; i < 3000; ++i) {
    mine.push_back(make_block(r));
    if (i % 3 == 0) {
      verify_and_free(mine.front());
      mine.erase(mine.begin());
    }
  }
  std::thread helper([&] {
    Rng hr{99};
    for (int i = 0; i < 1000; ++i) verify_and_free(make_block(hr));
    for (const Block& b : mine) verify_and_free(b);  // frees of the main thread's blocks
  });
  helper.join();
  exit(0);
}

// Phase 4: fork repeatedly while worker threads allocate and free.
void fork_while_threaded(int workers, int forks) {
  std::atomic<bool> stop{false};
  std::atomic<long> ops{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      Rng r{static_cast<std::uint64_t>(w + 1) * 0xD1B54A32D192ED03ull};
      Block slots[32];
      for (auto& b : slots) b = make_block(r);
      while (!stop.load(std::memory_order_relaxed)) {
        Block& b = slots[r.next() % 32];
        verify_and_free(b);
        b = make_block(r);
        ops.fetch_add(1, std::memory_order_relaxed);
      }
      for (auto& b : slots) verify_and_free(b);
    });
  }
  Rng r{42};
  for (int f = 0; f < forks; ++f) {
    std::vector<Block> inherited;
    for (int i = 0; i < 50; ++i) inherited.push_back(make_block(r));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) fail("fork failed", nullptr, 0);
    if (pid == 0) forked_child(inherited, f);
    int status = 0;
    const double deadline = now_s() + 15;
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 && now_s() < deadline) usleep(2000);
    if (done == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      fail("forked child hung (allocator deadlock after fork?)", nullptr, static_cast<std::size_t>(f));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "hk_thread_stress: child of fork %d ended with status 0x%x%s%s\n", f, status,
              WIFSIGNALED(status) ? ", signal " : "",
              WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "");
      _exit(1);
    }
    for (const Block& b : inherited) verify_and_free(b);  // the parent's copy is untouched
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  printf("fork while threaded ok: %d forks with %d workers running (%ld worker ops)\n", forks,
         workers, ops.load());
}

}  // namespace

int main() {
  setvbuf(stdout, nullptr, _IOLBF, 0);  // phases that finished show even if a later one crashes
  producer_consumer(4, 4, 25000);
  thread_churn(150, 4);
  many_threads_ring(64);
  fork_while_threaded(4, 20);
  printf("thread stress ok\n");
  return 0;
}
