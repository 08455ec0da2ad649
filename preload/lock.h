// The allocator's locks: plain pthread mutexes, taken on slow paths only.
//
// Contract: a Mutex is usable before main (static initialiser, no malloc).
// Lock order, outermost first: global-heap lock, heaps lock, pool lock,
// large lock. fork_prepare() takes them all in that order so a child never
// inherits one held by a thread that does not exist in it.
#pragma once

#include <pthread.h>

namespace hk {

class Mutex {
 public:
  void lock() { pthread_mutex_lock(&m_); }
  void unlock() { pthread_mutex_unlock(&m_); }
  // For the fork child: the lock's previous holder may not exist any more.
  void reinit() { pthread_mutex_init(&m_, nullptr); }

 private:
  pthread_mutex_t m_ = PTHREAD_MUTEX_INITIALIZER;
};

class Guard {
 public:
  explicit Guard(Mutex& m) : m_(m) { m_.lock(); }
  ~Guard() { m_.unlock(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  Mutex& m_;
};

}  // namespace hk
