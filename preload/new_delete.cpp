// Every replaceable operator new and delete, without linking libstdc++.
//
// operator new must throw std::bad_alloc and honour the new_handler, but
// libhakmem.so depends on libc alone. So, on the failure path only, the two
// pieces of the C++ runtime it needs are looked up with dlsym in whatever
// the program already loaded (any program calling operator new has a C++
// runtime). Without one, there is nobody to catch: one line, then abort.
#include <dlfcn.h>

#include <new>

#include "api_core.h"
#include "hot_path.h"
#include "line_writer.h"

namespace {

using Handler = void (*)();

[[noreturn]] void throw_bad_alloc() {
  if (void* f = dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv")) {
    reinterpret_cast<void (*)()>(f)();
  }
  hk::Line().s("hakmem: operator new: out of memory, and no C++ runtime to throw std::bad_alloc").end();
  abort();
}

Handler current_handler() {
  void* f = dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv");
  return f ? reinterpret_cast<Handler (*)()>(f)() : nullptr;
}

void* try_alloc(size_t size, size_t align) {
  return align ? hk::alloc_aligned(align, size) : hk::alloc(size);
}

// The standard's loop: call the new_handler until memory comes or there is
// no handler. A handler that throws from a nothrow new ends in terminate,
// since this library cannot catch without the C++ runtime.
void* new_failed(size_t size, size_t align, bool nothrow) {
  for (;;) {
    Handler h = current_handler();
    if (!h) {
      if (nothrow) return nullptr;
      throw_bad_alloc();
    }
    h();
    if (void* p = try_alloc(size, align)) return p;
  }
}

inline void* new_impl(size_t size, size_t align, bool nothrow) {
  void* p = try_alloc(size, align);
  if (__builtin_expect(p != nullptr, 1)) return p;
  return new_failed(size, align, nothrow);
}

}  // namespace

#pragma GCC visibility push(default)

void* operator new(size_t n) { return new_impl(n, 0, false); }
void* operator new[](size_t n) { return new_impl(n, 0, false); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return new_impl(n, 0, true); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return new_impl(n, 0, true); }
void* operator new(size_t n, std::align_val_t a) { return new_impl(n, size_t(a), false); }
void* operator new[](size_t n, std::align_val_t a) { return new_impl(n, size_t(a), false); }
void* operator new(size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_impl(n, size_t(a), true);
}
void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_impl(n, size_t(a), true);
}

void operator delete(void* p) noexcept { hk::free(p); }
void operator delete[](void* p) noexcept { hk::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { hk::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { hk::free(p); }
void operator delete(void* p, size_t) noexcept { hk::free(p); }
void operator delete[](void* p, size_t) noexcept { hk::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { hk::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { hk::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { hk::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { hk::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { hk::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { hk::free(p); }

#pragma GCC visibility pop
