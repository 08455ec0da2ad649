/* hakmem event vocabulary, version 2.
 *
 * Contract: the allocator (libhakmem.so, preload/) writes these records into
 * the shared-memory event ring (ring_format.h); hakmem-analyze reads them out
 * of the ring and out of trace files. Every record is exactly 64 bytes, little
 * endian, naturally aligned, and carries no pointers into the writer's memory
 * that the reader may follow: addresses are numbers to join on, nothing more.
 *
 * Events are emitted from the allocator's slow paths only. The fast paths
 * (TLS SLL push/pop) never emit.
 *
 * Compatibility: new event types may be appended; a reader skips types it
 * does not know. Changing the meaning of a field bumps HK_EVENTS_VERSION.
 *
 * Plain C so that the preload library, the analyzer and the tests share it.
 */
#ifndef HAKMEM_EVENTS_H
#define HAKMEM_EVENTS_H

#include <stdint.h>

#define HK_EVENTS_VERSION 2u
#define HK_CLASS_NONE 0xffu

/* What happened. The comment on each names the meaning of addr, len, a, b, c. */
enum hk_event_type {
  HK_EV_NONE = 0,
  /* Logged once when the ring opens. addr=drain interval, len=LRU capacity,
   * a=TLS SLL capacity per class, b=SuperSlab size in bytes,
   * c=slab size in bytes. */
  HK_EV_CONFIG = 1,

  /* One record per memory syscall the allocator makes, emitted by the single
   * OS-memory function after the syscall returns. addr/len are exactly the
   * syscall's arguments (for mmap: the returned address and the length),
   * reason is an hk_os_reason, a=syscall return value (0 or the address, or
   * -errno), b=madvise advice (HK_EV_OS_MADVISE only). These are the join
   * keys against the kernel's view. */
  HK_EV_OS_MMAP = 2,
  HK_EV_OS_MUNMAP = 3,
  HK_EV_OS_MADVISE = 4,

  /* SuperSlab lifecycle. addr=SuperSlab base, len=its size,
   * reason=hk_ss_reason, a=SuperSlabs currently mapped after the event. */
  HK_EV_SS_MAP = 5,
  HK_EV_SS_UNMAP = 6,

  /* Slab lifecycle. addr=slab base, len=slab size, cls=size class,
   * a=slab index in its SuperSlab, b=blocks in the slab,
   * c=active slabs left in its SuperSlab. */
  HK_EV_SLAB_ACQUIRE = 7, /* a thread takes a slab from the shared pool */
  /* A slab goes back to the shared pool. reason=HK_SLAB_RELEASE_EMPTIED:
   * its used count reached 0 just before, and this record stands for that
   * HK_EV_SLAB_EMPTY too (version 2; version 1 logged both, reason 0). */
  HK_EV_SLAB_RELEASE = 8,
  HK_EV_SLAB_EMPTY = 9, /* a slab's used count reached 0 (version 1) */

  /* LRU cache of empty SuperSlabs. addr=SuperSlab base (0 for a miss),
   * len=size, a=cache length after the event, b=capacity. */
  HK_EV_LRU_PUSH = 10,
  HK_EV_LRU_POP_HIT = 11,
  HK_EV_LRU_POP_MISS = 12,
  HK_EV_LRU_EVICT = 13,

  /* A TLS SLL drain. cls=HK_CLASS_NONE when all classes drained,
   * a=blocks returned to slabs, b=slabs that became empty, c=frees since the
   * previous drain record of this thread. reason=hk_drain_reason. Periodic
   * and overflow drains are frequent, so one record sums a thread's drains of
   * one reason over up to a millisecond: addr=how many (version 2; 0 in
   * version 1, meaning one). */
  HK_EV_DRAIN = 14,
  /* The owner collected blocks freed by other threads from its inbox.
   * cls=the class when every block was of one class, else HK_CLASS_NONE;
   * addr=the first slab's base, a=blocks collected, b=runs (groups of
   * blocks of one slab), c=slabs that became empty. reason=HK_REMOTE_SUMMED
   * (version 2): the record sums up to 64 collections of one thread,
   * len=how many; reason 0 (version 1): one collection, len=slab size. */
  HK_EV_REMOTE_FREE_BATCH = 15,

  /* Large blocks (above the small classes, mapped on their own).
   * addr=mapping base, len=mapping length, a=requested size,
   * b=large-cache length after the event. A LARGE_REUSE record sums up to
   * 64 reuses in a row: c=how many, len=their mapping bytes in all, addr and
   * a=the last one's (version 2; c=0 in version 1, meaning one). */
  HK_EV_LARGE_MAP = 16,
  HK_EV_LARGE_UNMAP = 17,
  HK_EV_LARGE_REUSE = 18,

  /* Process and thread lifecycle. addr=pid. THREAD_*: a=threads alive after
   * the event. FORK: addr=the child's pid, a=the parent's pid, in both rings:
   * the child files it in the parent's ring right after fork (so its tid is
   * the child's; the parent cannot learn the child's pid in its atfork
   * handler), and it is the first record of the child's own ring.
   * EXEC: the first record of an exec'd image's ring, a=the start time
   * (ns) of the ring its pid had before the exec. */
  HK_EV_THREAD_START = 19,
  HK_EV_THREAD_EXIT = 20,
  HK_EV_FORK = 21,
  HK_EV_EXEC = 22,

  /* Per-class accounting snapshot. cls=class, a=blocks counted used by the
   * slabs of the class, b=blocks parked in thread caches (sum over threads,
   * read racily), c=live blocks (a - b, clamped at 0), len=block size,
   * addr=the blocks those caches may hold by design (the sum of their SLL
   * capacities, which grow for bulks; 0 from writers before it was logged).
   * Logged at every drain and periodically from slow paths, so a curve
   * exists even with the drain off. */
  HK_EV_SNAPSHOT = 23,

  /* The first record of a ring that `hakmem-analyze attach` switched on in
   * a running process (attach_format.h): what came before is not in the
   * ring, so this says where the allocator stood. addr=pid, len=bytes the
   * allocator had mapped (the ring itself excluded: its HK_EV_OS_MMAP
   * follows), a=SuperSlabs mapped, b=threads alive, c=the attach request's
   * generation. */
  HK_EV_ATTACH = 24,

  HK_EV_TYPE_COUNT
};

/* Why the allocator touched the OS (HK_EV_OS_* reason). */
enum hk_os_reason {
  HK_OS_SUPERSLAB = 1,  /* mapping or unmapping a SuperSlab */
  HK_OS_ALIGN_TRIM = 2, /* trimming an over-sized mapping to alignment */
  HK_OS_LARGE = 3,      /* large block mapping */
  HK_OS_PURGE = 4,      /* giving pages back (madvise) */
  HK_OS_METADATA = 5,   /* allocator-internal metadata */
  HK_OS_RING = 6        /* the event ring itself */
};

/* Why a SuperSlab was mapped or unmapped (HK_EV_SS_* reason). */
enum hk_ss_reason {
  HK_SS_NEW = 1,       /* map: LRU had nothing to give */
  HK_SS_LRU_OFF = 2,   /* unmap: emptied while the LRU capacity is 0 */
  HK_SS_EVICT = 3,     /* unmap: pushed out of a full LRU */
  HK_SS_TRIM = 4,      /* unmap: malloc_trim or an explicit release */
  HK_SS_LRU_FULL = 5   /* unmap: emptied, cache full and nothing older */
};

/* HK_EV_REMOTE_FREE_BATCH reason. */
enum hk_remote_reason {
  HK_REMOTE_SUMMED = 1 /* len = how many inbox collections the record sums */
};

/* HK_EV_SLAB_RELEASE reason. */
enum hk_slab_release_reason {
  HK_SLAB_RELEASE_EMPTIED = 1 /* used reached 0; no separate SLAB_EMPTY */
};

/* What triggered a drain (HK_EV_DRAIN reason). */
enum hk_drain_reason {
  HK_DRAIN_INTERVAL = 1,    /* HAKMEM_TLS_SLL_DRAIN_INTERVAL frees elapsed */
  HK_DRAIN_OVERFLOW = 2,    /* a class's TLS SLL hit its capacity */
  HK_DRAIN_THREAD_EXIT = 3, /* the thread is exiting */
  HK_DRAIN_TRIM = 4,        /* malloc_trim */
  HK_DRAIN_QUIET = 5        /* the heap was about to grow: classes without a pop
                               since the last interval drain gave their SLLs back */
};

/* One event: 64 bytes. The first 8 bytes belong to the ring (its commit word)
 * and are zero in a trace file. */
struct hk_event {
  uint64_t commit; /* ring slot commit word, see ring_format.h */
  uint64_t ts_ns;  /* CLOCK_MONOTONIC, ns */
  uint32_t tid;    /* gettid() of the writer */
  uint16_t type;   /* enum hk_event_type */
  uint8_t cls;     /* size class or HK_CLASS_NONE */
  uint8_t reason;  /* per-type reason enum, or 0 */
  uint64_t addr;
  uint64_t len;
  uint64_t a, b, c;
};

#ifdef __cplusplus
static_assert(sizeof(struct hk_event) == 64, "hk_event must stay 64 bytes");
#else
_Static_assert(sizeof(struct hk_event) == 64, "hk_event must stay 64 bytes");
#endif

#endif /* HAKMEM_EVENTS_H */
