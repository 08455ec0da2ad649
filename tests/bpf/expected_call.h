/* What tests/bpf/syscall_sequence_helper.c did, as it saw it.
 *
 * Contract: the helper writes one hk_expected_header then `count`
 * hk_expected_call entries to the file named on its command line, after its
 * end marker; probe_test.cpp reads them back and compares them with the
 * probe's records. Times are CLOCK_MONOTONIC read just before (t0) and just
 * after (t1) the call, so the kernel's enter/exit times must lie inside.
 */
#ifndef HAKMEM_TESTS_EXPECTED_CALL_H
#define HAKMEM_TESTS_EXPECTED_CALL_H

#include <stdint.h>

#define HK_EXPECTED_MAGIC 0x484b455850435431ull /* "HKEXPCT1" */
/* madvise advice values no kernel knows: the calls fail with EINVAL and
 * bracket the sequence in the trace. */
#define HK_MARK_BEGIN 0x4b4d0001
#define HK_MARK_END 0x4b4d0002
#define HK_EXPECTED_MAX 64

struct hk_expected_header {
  uint64_t magic;
  uint64_t count;
  uint64_t text_start; /* the helper's own code: where `caller` must point */
  uint64_t text_end;
};

struct hk_expected_call {
  uint32_t kind;  /* enum hk_sys_kind */
  uint32_t nr;
  uint32_t pid;
  uint32_t tid;
  uint32_t nargs; /* how many of args[] the syscall takes */
  uint32_t pad;
  uint64_t args[6];
  int64_t ret;    /* raw kernel return: -errno on failure */
  uint64_t t0, t1;
};

#endif /* HAKMEM_TESTS_EXPECTED_CALL_H */
