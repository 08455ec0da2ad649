// The attach point. Protocol: include/hakmem/attach_format.h.
#include "attach_point.h"

#include <errno.h>
#include <string.h>

#include <hakmem/ring_format.h>

// Exported (the preload's default visibility is hidden): the attacher finds
// the block by this name in the library's dynamic symbol table. Only this
// file touches it, and never on a fast path.
extern "C" __attribute__((visibility("default"))) hk_attach_point hakmem_attach_point;
hk_attach_point hakmem_attach_point;

namespace hk {

namespace {

hk_attach_point& point() { return hakmem_attach_point; }

bool valid_capacity(uint64_t c) {
  return c == 0 || (c >= HK_RING_MIN_CAPACITY && c <= HK_RING_MAX_CAPACITY && (c & (c - 1)) == 0);
}

}  // namespace

void attach_point_init(uint8_t* gate, bool from_env) {
  hk_attach_point& p = point();
  p.version = HK_ATTACH_VERSION;
  p.size = sizeof(hk_attach_point);
  p.gate_addr = uint64_t(reinterpret_cast<uintptr_t>(gate));
  p.state = from_env ? HK_ATTACH_STATE_ENV : HK_ATTACH_STATE_IDLE;
  __atomic_store_n(&p.magic, HK_ATTACH_MAGIC, __ATOMIC_RELEASE);
}

bool attach_requested() {
  hk_attach_point& p = point();
  return __atomic_load_n(&p.request, __ATOMIC_ACQUIRE) !=
         __atomic_load_n(&p.served, __ATOMIC_RELAXED);
}

bool attach_read_request(AttachRequest& out) {
  hk_attach_point& p = point();
  out.generation = __atomic_load_n(&p.request, __ATOMIC_ACQUIRE);
  out.capacity = __atomic_load_n(&p.capacity, __ATOMIC_RELAXED);
  out.mode = __atomic_load_n(&p.mode, __ATOMIC_RELAXED);
  memcpy(out.prefix, p.prefix, sizeof out.prefix);
  if (out.mode == 0) out.mode = HK_RING_MODE_STREAM;
  const bool prefix_ok = out.prefix[0] == '/' && memchr(out.prefix, '\0', sizeof out.prefix);
  const bool mode_ok = out.mode == HK_RING_MODE_STREAM || out.mode == HK_RING_MODE_FLIGHT;
  return prefix_ok && mode_ok && valid_capacity(out.capacity);
}

void attach_answer(uint64_t generation, int error) {
  hk_attach_point& p = point();
  p.error = error;
  __atomic_store_n(&p.state, error ? HK_ATTACH_STATE_REFUSED : HK_ATTACH_STATE_OPEN,
                   __ATOMIC_RELAXED);
  __atomic_store_n(&p.served, generation, __ATOMIC_RELEASE);
}

}  // namespace hk
