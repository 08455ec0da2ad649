/* hakmem event ring layout, version 1.
 *
 * Concurrency contract
 * --------------------
 * Writers: every thread of ONE process (the one whose pid is in the header)
 *   appends struct hk_event records (events.h) through hk::emit(). Writers
 *   never block and never spin on the reader. The only loop a writer runs is
 *   the stream-mode CAS on `head`, which retries only when another writer won.
 *   Exception, by design: a forked child claims exactly one slot in its
 *   parent's ring for the HK_EV_FORK record (the parent cannot know the child's
 *   pid), through the same protocol, then never touches that ring again.
 * Reader: ONE process (the recorder or `hakmem-analyze ring-dump`) reads a
 *   live ring. It maps the file read-write and writes `tail` (stream mode)
 *   and may retire a slot (commit word -> ABANDONED) whose writer stalled
 *   past its stall timeout; nothing else. Once the writer is gone, readers
 *   write nothing, so a dead ring can be read any number of times.
 * Guarantee: a reader never returns a torn record. Records come out once each,
 *   in claim (ticket) order, so in order within each thread. Every emit is
 *   either returned or counted, exactly once, in one of
 *     dropped     (header, writers): stream mode refused it, the ring being
 *                 full; such a record never got a ticket;
 *     overwritten (reader): flight mode lapped its ticket before it was read;
 *     torn        (reader): its ticket was claimed but never committed (writer
 *                 killed mid-record, stalled past the reader's stall timeout,
 *                 or its slot unusable: retired, or still held by a writer
 *                 of an earlier lap).
 *   So stream: emits = read + dropped + torn (+ unread), flight: emits =
 *   head = read + overwritten + torn (+ unread).
 * Full ring: STREAM mode refuses the record and counts it in `dropped`, so
 *   head - tail <= capacity always; FLIGHT mode overwrites the oldest slot.
 * Writer crash: the mapping is MAP_SHARED on a file, so everything committed
 *   before SIGKILL stays readable. A slot claimed but never committed is
 *   reported as torn and skipped.
 *
 * Slot commit word (hk_event.commit) for ticket t (the claim counter value):
 *   HK_RING_COMMIT(t, state) = ((t + 1) << 2) | state, 0 = never used.
 *   BUSY:      a writer owns the slot and is filling it;
 *   COMMITTED: the payload is complete (stored with release order);
 *   ABANDONED: the reader gave up on a BUSY slot; the slot is retired for
 *              good, so a stalled writer that resumes cannot scribble on a
 *              record someone else committed later. Writers landing on a
 *              retired slot give their record up (the reader counts it torn).
 *   A writer claims slot t & (capacity - 1) by CAS from 0, or from COMMITTED
 *   of an older ticket; it publishes with a CAS BUSY(t) -> COMMITTED(t).
 *   A reader at position r accepts the slot only if it reads COMMITTED(r)
 *   before and after copying the payload (seqlock re-check).
 *
 * Layout: little endian. Header (HK_RING_HEADER_SIZE bytes, 4 cache lines:
 * identity, head, tail, dropped+state) then `capacity` slots of
 * HK_RING_RECORD_SIZE bytes. File size = header_size + capacity * record_size.
 * The writer stores `magic` last (release), so a reader that sees the magic
 * sees a complete header. Identity fields never change after that.
 *
 * File: created by the writer with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600.
 * Name: HAKMEM_RING with %p -> pid, %t -> CLOCK_MONOTONIC ns, %% -> %;
 * without %p the writer appends ".<pid>.<mono_ns>", so that a forked child
 * and an exec'd image (same pid) each get their own file.
 * HAKMEM_RING_SIZE: ring size in bytes of slots, optional K/M/G suffix,
 * rounded up to a power of two slots and clamped to
 * [HK_RING_MIN_CAPACITY, HK_RING_MAX_CAPACITY] slots.
 * HAKMEM_RING_MODE: "stream" (default) or "flight".
 */
#ifndef HAKMEM_RING_FORMAT_H
#define HAKMEM_RING_FORMAT_H

#include <stdint.h>

#include <hakmem/events.h>

#define HK_RING_MAGIC 0x31474e524d4b4148ull /* "HAKMRNG1" little endian */
#define HK_RING_VERSION 1u
#define HK_RING_HEADER_SIZE 256u
#define HK_RING_RECORD_SIZE 64u
#define HK_RING_MIN_CAPACITY 64ull
#define HK_RING_MAX_CAPACITY (1ull << 24) /* 1 GiB of slots */
#define HK_RING_DEFAULT_CAPACITY (1ull << 16) /* 4 MiB */
/* Tickets must fit the commit word encoding. */
#define HK_RING_MAX_TICKET ((1ull << 61) - 2)

enum hk_ring_mode {
  HK_RING_MODE_STREAM = 1, /* full ring: drop and count */
  HK_RING_MODE_FLIGHT = 2  /* full ring: overwrite the oldest */
};

enum hk_ring_slot_state {
  HK_SLOT_BUSY = 1,
  HK_SLOT_COMMITTED = 2,
  HK_SLOT_ABANDONED = 3
};

#define HK_RING_COMMIT(ticket, state) ((((uint64_t)(ticket) + 1u) << 2) | (uint64_t)(state))
#define HK_RING_COMMIT_STATE(word) ((uint32_t)((word) & 3u))
/* Only meaningful when word != 0. */
#define HK_RING_COMMIT_TICKET(word) (((uint64_t)(word) >> 2) - 1u)

/* writer_state bits. */
#define HK_RING_STATE_OPEN 1u   /* header complete, writers may append */
#define HK_RING_STATE_EXITED 2u /* the writer ran its exit-time destructors;
                                   absent after SIGKILL, crash, _exit or exec */

struct hk_ring_header {
  /* line 0: identity, written once before magic */
  uint64_t magic;
  uint32_t version;
  uint32_t header_size; /* offset of slot 0 */
  uint32_t record_size;
  uint32_t mode; /* enum hk_ring_mode */
  uint64_t capacity; /* slots, a power of two */
  uint32_t pid;
  uint32_t ppid;
  uint32_t clock_id;       /* CLOCK_MONOTONIC: clock of hk_event.ts_ns */
  uint32_t events_version; /* HK_EVENTS_VERSION of the records */
  uint64_t start_mono_ns;
  uint64_t start_realtime_ns;
  /* line 1: the claim counter, written by writers */
  uint64_t head;
  uint8_t pad1[56];
  /* line 2: the reader's consumed position (stream mode) */
  uint64_t tail;
  uint8_t pad2[56];
  /* line 3: rare writer-side updates */
  uint64_t dropped;
  uint32_t writer_state; /* HK_RING_STATE_* bits */
  uint8_t pad3[52];
};

#ifdef __cplusplus
static_assert(sizeof(struct hk_ring_header) == HK_RING_HEADER_SIZE, "ring header size");
static_assert(sizeof(struct hk_event) == HK_RING_RECORD_SIZE, "ring record size");
#else
_Static_assert(sizeof(struct hk_ring_header) == HK_RING_HEADER_SIZE, "ring header size");
_Static_assert(sizeof(struct hk_event) == HK_RING_RECORD_SIZE, "ring record size");
#endif

#endif /* HAKMEM_RING_FORMAT_H */
