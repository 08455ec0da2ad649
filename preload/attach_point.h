// The attach point: the exported block through which `hakmem-analyze
// attach` asks a running process for its event ring (protocol:
// include/hakmem/attach_format.h).
//
// Contract: attach_point_init() runs once from the allocator's init, after
// the ring from HAKMEM_RING (if any) was tried. The other functions are
// called by the event ring writer from any thread, on its slow path only;
// the one thread that serves a request (event_ring.cpp holds a try-lock)
// reads it with attach_read_request() and answers with attach_answer().
// Nothing here allocates, locks or makes a syscall.
#pragma once

#include <stdint.h>

#include <hakmem/attach_format.h>

namespace hk {

// `gate` is the byte the attacher sets; `from_env` says a ring was opened
// from HAKMEM_RING, which an attacher must not replace.
void attach_point_init(uint8_t* gate, bool from_env);

// A request not yet acted on: the attacher wrote request = served + 1.
bool attach_requested();

struct AttachRequest {
  uint64_t generation;
  uint64_t capacity;  // 0 or a valid slot count
  uint32_t mode;      // HK_RING_MODE_STREAM or HK_RING_MODE_FLIGHT
  char prefix[HK_ATTACH_PREFIX_MAX];
};

// Copies the pending request out of the shared block (the attacher could
// rewrite it meanwhile: everything is checked on the copy). False when it
// is malformed; it is then answered as refused (EINVAL).
bool attach_read_request(AttachRequest& out);

// Records the outcome of request `generation`: 0 = its ring is open, else
// the errno that refused it.
void attach_answer(uint64_t generation, int error);

}  // namespace hk
