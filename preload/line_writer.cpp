#include "line_writer.h"

#include <stdlib.h>
#include <unistd.h>

namespace hk {

Line& Line::s(const char* text) {
  while (*text) put(*text++);
  return *this;
}

Line& Line::u(uint64_t v) {
  char tmp[20];
  int k = 0;
  do {
    tmp[k++] = char('0' + v % 10);
    v /= 10;
  } while (v);
  while (k) put(tmp[--k]);
  return *this;
}

Line& Line::i(int64_t v) {
  if (v < 0) {
    put('-');
    return u(uint64_t(0) - uint64_t(v));
  }
  return u(uint64_t(v));
}

Line& Line::x(uint64_t v) {
  s("0x");
  int shift = 60;
  while (shift > 0 && ((v >> shift) & 0xF) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) put("0123456789abcdef"[(v >> shift) & 0xF]);
  return *this;
}

void Line::end() {
  buf_[n_++] = '\n';
  size_t off = 0;
  while (off < n_) {
    const ssize_t w = write(2, buf_ + off, n_ - off);
    if (w <= 0) break;
    off += size_t(w);
  }
  n_ = 0;
}

void fatal(const char* what, const void* ptr) {
  Line().s("hakmem: ").s(what).s(" ").p(ptr).s(" (aborting)").end();
  abort();
}

}  // namespace hk
