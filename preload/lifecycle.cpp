#include "lifecycle.h"

#include <sched.h>
#include <unistd.h>

#include "config.h"
#include "event_ring.h"
#include "large_alloc.h"
#include "line_writer.h"
#include "shared_pool.h"
#include "size_classes.h"
#include "stats.h"
#include "superslab.h"
#include "thread_heap.h"

namespace hk {

std::atomic<int> g_init_state;

namespace {

// glibc keeps the values of the first 32 keys (PTHREAD_KEY_2NDLEVEL_SIZE) in
// the thread descriptor itself; pthread_setspecific on a higher key may
// calloc, which inside malloc would recurse.
constexpr unsigned kStaticKeySlots = 32;

pthread_key_t g_exit_key;
bool g_exit_key_ok;

void fork_prepare() {
  heaps_fork_prepare();
  g_pool_lock.lock();
  large_fork_prepare();
}

void fork_parent() {
  large_fork_parent();
  g_pool_lock.unlock();
  heaps_fork_parent();
}

void fork_child() {
  large_fork_child();
  g_pool_lock.reinit();
  heaps_fork_child();
  ring_after_fork_child(getppid());
}

void configure_ring() {
  ring_init();
  uint64_t sll_cap = 0;
  for (unsigned c = 0; c < kNumClasses; ++c)
    if (kClasses.sll_cap[c] > sll_cap) sll_cap = kClasses.sll_cap[c];
  ring_set_config(g_cfg.drain_interval, g_cfg.lru_cap, sll_cap, kSsSize, kSlabSize);
}

}  // namespace

void init_slow() {
  int expected = 0;
  if (!g_init_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    while (g_init_state.load(std::memory_order_acquire) != 2) sched_yield();
    return;
  }
  config_load();
  init_free_key();
  global_heap_init();
  if (pthread_key_create(&g_exit_key, thread_exit_flush) == 0) {
    g_exit_key_ok = g_exit_key < kStaticKeySlots;
    if (!g_exit_key_ok) pthread_key_delete(g_exit_key);
  }
  g_init_state.store(2, std::memory_order_release);
  // From here on a nested malloc (from libc below us) is an ordinary one.
  pthread_atfork(fork_prepare, fork_parent, fork_child);
  if (g_cfg.from_env) configure_ring();
}

bool register_thread_exit(void* heap) {
  return g_exit_key_ok && pthread_setspecific(g_exit_key, heap) == 0;
}

namespace {

// Runs after libc is up. If the first malloc came before the environment
// was readable (early in the dynamic loader), read the configuration now.
__attribute__((constructor)) void hk_constructor() {
  ensure_init();
  if (!g_cfg.from_env) {
    config_load();
    configure_ring();
  }
}

__attribute__((destructor)) void hk_destructor() {
  log_event_backlog();
  large_log_pending();
  emit_snapshots();
  if (g_cfg.stats) print_stats();
}

}  // namespace

}  // namespace hk
