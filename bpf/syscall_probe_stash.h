/* Per-thread enter stash of the syscall probe (task-local storage map
 * `inflight` in syscall_probe.bpf.c).
 *
 * Contract: written by the BPF programs at sys_enter, consumed at sys_exit
 * of the same thread. Shared with tests, which look it up from user space by
 * pidfd to check the enter-side filter with BPF_PROG_TEST_RUN. Its presence
 * for a thread also means "this thread's process is traced". It also holds
 * the thread's open run of page faults (flushed as one HK_SYS_FAULTS record
 * when a fault leaves the run's granule, at the thread's next traced
 * syscall, and at its exit), its fault count and its RSS sampling state. Fixed-width
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
  __u32 run_faults; /* faults in the open run, 0 when none */
  __u64 run_first_ns, run_last_ns;
  __u64 run_lo, run_hi;   /* lowest and highest fault address */
  __u64 run_ip;           /* user ip of the run's first fault */
  __u64 run_fault_ns;     /* summed time of the timed faults */
  __u32 run_timed, run_writes;
  __u32 fault_seq;        /* the thread's faults, wrapping: names a timed one */
  __u32 pad;
  __u64 rss_last_ns;      /* the last RSS sample's time and pages */
  __u64 rss_last_pages, rss_peak_pages;
};

#endif /* HAKMEM_SYSCALL_PROBE_STASH_H */
