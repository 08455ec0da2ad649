/* Per-thread enter stash of the syscall probe (task-local storage map
 * `inflight` in syscall_probe.bpf.c).
 *
 * Contract: written by the BPF programs at sys_enter, consumed at sys_exit
 * of the same thread. Shared with tests, which look it up from user space by
 * pidfd to check the enter-side filter with BPF_PROG_TEST_RUN. Its presence
 * for a thread also means "this thread's process is traced". Fixed-width
 * __u32/__u64 types only, so BPF C and C++ agree on the layout.
 */
#ifndef HAKMEM_SYSCALL_PROBE_STASH_H
#define HAKMEM_SYSCALL_PROBE_STASH_H

#ifndef __BPF__
#include <linux/types.h>
#endif

struct hk_enter_stash {
  __u64 enter_ns; /* bpf_ktime_get_ns() at sys_enter */
  __u32 nr;       /* pending syscall, 0 when none (mmap is 9, never 0) */
  __u32 pad;
};

#endif /* HAKMEM_SYSCALL_PROBE_STASH_H */
