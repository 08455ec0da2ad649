/* hakmem trace file format, version 1.
 *
 * Contract: `hakmem-analyze record` is the only writer; every other
 * subcommand reads. One file holds one recording: a fixed file header, then
 * a sequence of self-delimiting chunks, the first of which is HK_CHUNK_META
 * and the last of which is HK_CHUNK_FOOTER.
 *
 *   file   := hk_trace_file_header chunk* footer-chunk
 *   chunk  := hk_trace_chunk_header payload[payload_len]
 *
 * All integers are little endian. Chunks are written whole (header and
 * payload in one write) and are never rewritten, so a recording cut short by a
 * crash, a kill or ^C reads up to its last whole chunk; a missing footer only
 * means "truncated". A reader must treat the file as hostile: check magic,
 * type, payload_len against HK_TRACE_MAX_PAYLOAD and the file size,
 * record_count * record size against payload_len, and the CRC, before using
 * any of it. Unknown chunk types are skipped by length.
 */
#ifndef HAKMEM_TRACE_FORMAT_H
#define HAKMEM_TRACE_FORMAT_H

#include <stdint.h>

#define HK_TRACE_MAGIC "HKTRACE1" /* 8 bytes, no NUL in the file */
#define HK_TRACE_VERSION 1u
#define HK_CHUNK_MAGIC 0x4b43484bu /* "KHCK" read as LE bytes: 'K','H','C','K' */
#define HK_TRACE_MAX_PAYLOAD (64u << 20)

struct hk_trace_file_header {
  char magic[8];        /* HK_TRACE_MAGIC */
  uint32_t version;     /* HK_TRACE_VERSION */
  uint32_t header_size; /* sizeof(struct hk_trace_file_header) */
  uint32_t event_size;  /* sizeof(struct hk_event) */
  uint32_t sys_size;    /* sizeof(struct hk_sys_record) */
  uint64_t created_realtime_ns;
  uint8_t reserved[32];
};

enum hk_chunk_type {
  /* UTF-8 text, one "key=value" per line; in keys and values a backslash is
   * written as the two bytes \\ and a newline as the two bytes \n. Later
   * META chunks add or replace keys.
   * Keys at least: command, host,
   * kernel, clock (always "CLOCK_MONOTONIC"), start_mono_ns,
   * start_realtime_ns, hakmem_version, preload (0/1), bpf (0/1),
   * bpf.user_stacks (0/1), config.* keys copied from the allocator's
   * HK_EV_CONFIG, and maps.<pid>: the file-backed lines of that process's
   * /proc/<pid>/maps, for symbolizing call sites (a later chunk replaces an
   * earlier layout of the same pid, e.g. after an exec). */
  HK_CHUNK_META = 1,
  /* record_count * struct hk_event from the ring of process source_pid. */
  HK_CHUNK_EVENTS = 2,
  /* record_count * struct hk_sys_record from the eBPF probe. */
  HK_CHUNK_SYSCALLS = 3,
  /* One struct hk_trace_ring_info: a ring was opened or closed. */
  HK_CHUNK_RING = 4,
  /* One struct hk_trace_footer. Always the last chunk of a complete file. */
  HK_CHUNK_FOOTER = 5
};

struct hk_trace_chunk_header {
  uint32_t magic;        /* HK_CHUNK_MAGIC */
  uint16_t type;         /* enum hk_chunk_type */
  uint16_t flags;        /* 0; reserved */
  uint32_t payload_len;  /* bytes after this header */
  uint32_t record_count; /* records in the payload (0 for META) */
  uint32_t source_pid;   /* ring owner for EVENTS/RING, 0 otherwise */
  uint32_t crc32;        /* zlib crc32 of the payload */
  uint64_t seq;          /* chunk index in the file, from 0 */
};

/* A ring the recorder attached to (state=1) or finished reading (state=2). */
struct hk_trace_ring_info {
  uint32_t pid;
  uint32_t ppid;
  uint32_t state;         /* 1 opened, 2 closed */
  uint32_t mode;          /* ring mode from its header (stream/flight) */
  uint64_t capacity;      /* slots */
  uint64_t records_read;  /* records copied into this trace */
  uint64_t dropped;       /* writer-side drops (stream mode) */
  uint64_t overwritten;   /* lost to overwrite (flight mode) */
  uint64_t torn;          /* slots never committed by a dead writer */
  uint64_t start_mono_ns; /* the ring's start time */
};

struct hk_trace_footer {
  uint64_t chunks;          /* chunks before the footer */
  uint64_t events;          /* hk_event records written */
  uint64_t syscalls;        /* hk_sys_record records written */
  uint64_t bpf_lost;        /* probe ring-buffer reserve failures */
  uint64_t ring_dropped;    /* sum of rings' dropped + overwritten + torn */
  uint64_t end_mono_ns;
  int32_t exit_status;      /* the command's exit code, 128+N for signal N */
  uint32_t reserved;
};

#endif /* HAKMEM_TRACE_FORMAT_H */
