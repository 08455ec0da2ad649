// Process lifecycle: one-time init, the thread-exit key, fork handlers.
//
// Contract: ensure_init() is cheap once initialised and safe from any thread
// at any time, including before main and before libc has finished starting:
// the first caller reads the configuration (getenv only), creates the
// thread-exit key and registers the fork handlers; concurrent callers wait.
#pragma once

#include <pthread.h>

#include <atomic>

namespace hk {

extern std::atomic<int> g_init_state;  // 0 none, 1 running, 2 done
void init_slow();
inline void ensure_init() {
  if (__builtin_expect(g_init_state.load(std::memory_order_acquire) != 2, 0)) init_slow();
}

// Registers the calling thread's heap with the thread-exit key. False when
// no key could be had without risking an allocation in pthread_setspecific.
bool register_thread_exit(void* heap);

}  // namespace hk
