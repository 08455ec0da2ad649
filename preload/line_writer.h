// A tiny formatter that writes one line to stderr with write(2).
//
// Contract: usable anywhere inside the allocator, including under its locks
// and before libc's stdio exists: no malloc, no stdio, no locale. A line is
// built in a fixed stack buffer (long lines are truncated) and written with
// a single write(2), so lines from different threads do not interleave.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace hk {

class Line {
 public:
  Line& s(const char* text);
  Line& u(uint64_t v);
  Line& i(int64_t v);
  Line& x(uint64_t v);  // 0x-prefixed hex
  Line& p(const void* ptr) { return x(reinterpret_cast<uintptr_t>(ptr)); }
  // Appends '\n' and writes the line to fd 2.
  void end();

 private:
  void put(char c) {
    if (n_ < sizeof(buf_) - 1) buf_[n_++] = c;
  }
  char buf_[256];
  size_t n_ = 0;
};

// Writes "hakmem: <what> <ptr>\n" and aborts. For heap misuse the allocator
// can prove (invalid or double free): stopping beats corrupting the heap.
[[noreturn]] void fatal(const char* what, const void* ptr);

}  // namespace hk
