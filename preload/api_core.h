// The malloc family's semantics, shared by the C symbols, operator new and
// the hakmem_* extras.
//
// Contract: any thread. Nothing here uses stdio or throws. Errors come back
// as nullptr with errno = ENOMEM (or EINVAL where POSIX says so), never as
// heap corruption: an invalid or recognisably double free aborts with one line.
#pragma once

#include <errno.h>
#include <stddef.h>

namespace hk {

// size bytes aligned to align (a power of two, any size).
void* alloc_aligned(size_t align, size_t size);
void* alloc_zeroed(size_t n, size_t size);
void* realloc_block(void* p, size_t size);
// Usable bytes of a block hakmem handed out; 0 for anything else.
size_t usable_size(const void* p);
// 1 if p is a block hakmem handed out and (as far as the calling thread can
// tell without racing others) not yet freed.
int owns_live(const void* p);
// malloc_trim: flush this thread's caches, give back cached memory.
bool trim();

// Keeps errno across a slow path that may make syscalls: free() must not
// change it.
class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }
  ErrnoKeeper(const ErrnoKeeper&) = delete;
  ErrnoKeeper& operator=(const ErrnoKeeper&) = delete;

 private:
  int saved_;
};

}  // namespace hk
