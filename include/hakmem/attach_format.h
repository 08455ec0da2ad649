/* hakmem attach point, version 1: how `hakmem-analyze attach` switches the
 * event ring on in a process that already runs under libhakmem.so.
 *
 * Contract: libhakmem.so exports one struct hk_attach_point under the
 * dynamic symbol HK_ATTACH_SYMBOL and fills its identity (magic last) when
 * the allocator initialises. The attacher, from another process allowed to
 * write this one's memory (process_vm_writev: same uid or CAP_SYS_PTRACE),
 *   1. reads the point and checks magic, version and size;
 *   2. writes capacity, mode and prefix, then request = served + 1;
 *   3. then, in a separate write, stores 1 into the gate byte at gate_addr.
 * The gate is the byte every allocator event already tests (one predictable
 * branch while it is 0), so nobody attached costs the program nothing more
 * than a program started without HAKMEM_RING pays anyway; it is one byte
 * because a remote store of a wider word may be seen torn. The next event
 * any thread emits sees the gate, finds request != served, and opens the
 * ring <prefix>.<pid>.<mono_ns> (created 0600, O_EXCL, as ring_format.h
 * says), whose first record is HK_EV_ATTACH; then it stores served =
 * request and state. A program that never reaches the allocator's slow
 * paths opens it at its next one.
 * Detach: the attacher stores 0 into the gate. Writers stop at their next
 * event; the ring stays mapped in the process (it is never unmapped, so a
 * writer that was mid-record cannot fault), and the attacher frees its
 * pages and removes its file. A later attach opens a new ring.
 * Fork: a child of an attached process inherits the point and opens its own
 * ring in the same directory; its gate is its own to clear.
 * A process whose ring came from HAKMEM_RING (record) reports
 * HK_ATTACH_STATE_ENV and must not be attached.
 */
#ifndef HAKMEM_ATTACH_FORMAT_H
#define HAKMEM_ATTACH_FORMAT_H

#include <stdint.h>

#define HK_ATTACH_SYMBOL "hakmem_attach_point"
#define HK_ATTACH_MAGIC 0x314854414d4b4148ull /* "HAKMATH1" little endian */
#define HK_ATTACH_VERSION 1u
#define HK_ATTACH_PREFIX_MAX 512u

enum hk_attach_state {
  HK_ATTACH_STATE_IDLE = 0,    /* no ring was ever asked for */
  HK_ATTACH_STATE_ENV = 1,     /* the ring came from HAKMEM_RING at start */
  HK_ATTACH_STATE_OPEN = 2,    /* request `served` opened its ring */
  HK_ATTACH_STATE_REFUSED = 3  /* request `served` failed: error = errno */
};

struct hk_attach_point {
  /* identity: written by the library at init, magic last */
  uint64_t magic;
  uint32_t version;
  uint32_t size;      /* sizeof(struct hk_attach_point) */
  uint64_t gate_addr; /* address of the gate byte in the library's process */
  /* the request: written by the attacher, before the gate */
  uint64_t request;   /* generation; served + 1 asks for a new ring */
  uint64_t capacity;  /* ring slots, a power of two in ring_format.h's bounds; 0 = default */
  uint32_t mode;      /* enum hk_ring_mode; 0 = stream */
  uint32_t reserved;
  char prefix[HK_ATTACH_PREFIX_MAX]; /* absolute, NUL-terminated */
  /* the answer: written by the library */
  uint64_t served;    /* the last request acted on */
  uint32_t state;     /* enum hk_attach_state */
  int32_t error;      /* errno of a refused request */
};

#endif /* HAKMEM_ATTACH_FORMAT_H */
