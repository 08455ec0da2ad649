/* hakmem kernel-side record, version 2.
 *
 * Contract: bpf/syscall_probe.bpf.c fills these in the kernel and submits
 * them through a BPF ring buffer; hakmem-analyze record copies them verbatim
 * into trace files; the analyzer reads them back. Shared by BPF C, C and
 * C++, so it uses only __u32/__u64-style fixed types (never vmlinux's u32).
 *
 * One record per completed syscall of interest (mmap, munmap, mremap,
 * madvise, brk), emitted at sys_exit with the arguments stashed at
 * sys_enter, plus one record per fork, exec and exit of a traced process.
 * Version 2 adds two kinds with the same layout: a run of user page faults
 * of one thread within one 2 MiB-aligned granule, summed in the kernel
 * (HK_SYS_FAULTS), and a sample of a process's resident memory
 * (HK_SYS_RSS). A version 1 reader skips them: it acts on kinds 0-3 only.
 * Times are bpf_ktime_get_ns(), which is CLOCK_MONOTONIC.
 */
#ifndef HAKMEM_SYSCALL_RECORD_H
#define HAKMEM_SYSCALL_RECORD_H

#ifdef __BPF__
/* vmlinux.h provides __u32/__u64/__s64 */
#else
#include <linux/types.h>
#endif

#define HK_SYS_RECORD_VERSION 2u

/* x86_64 syscall numbers the probe keeps. */
#define HK_NR_MMAP 9
#define HK_NR_MUNMAP 11
#define HK_NR_BRK 12
#define HK_NR_MREMAP 25
#define HK_NR_MADVISE 28

enum hk_sys_kind {
  HK_SYS_CALL = 0, /* a syscall: nr, args, ret, enter/exit times */
  HK_SYS_FORK = 1, /* pid=parent tgid, args[0]=child tgid, args[1]=child tid */
  HK_SYS_EXEC = 2, /* pid=tgid that exec'd; its old mappings are gone */
  HK_SYS_EXIT = 3,  /* pid=tgid that exited (last thread); mappings gone */
  /* User page faults of thread tid, all within one 2 MiB-aligned granule,
   * with no traced syscall of that thread in between: enter_ns = first
   * fault, exit_ns = last timed one, args[0] = lowest fault address,
   * args[1] = highest, args[2] = faults, args[3] = faults timed (the first
   * and one in 8 after it), args[4] = their summed time (fault entry to the
   * RSS counter update that mapped the page: the lookup, the allocation and
   * the zeroing, not the return), args[5] = write faults; caller = user ip
   * of the first fault. */
  HK_SYS_FAULTS = 4,
  /* Resident memory of process pid as the kernel counts it (approximate by
   * the per-CPU counter batch), sampled at a rate limit when it changes:
   * args[0] = file pages, args[1] = anon pages, args[2] = swap entries,
   * args[3] = shmem pages, args[4] = highest file+anon+shmem pages seen
   * since the previous sample of this thread. Taken at timed faults and
   * after recorded syscalls. */
  HK_SYS_RSS = 5
};

struct hk_sys_record {
  __u64 seq;      /* per-probe sequence number, gaps mean lost records */
  __u64 enter_ns; /* CLOCK_MONOTONIC at sys_enter (= exit_ns for non-calls) */
  __u64 exit_ns;  /* CLOCK_MONOTONIC at sys_exit */
  __u32 pid;      /* tgid, host pid namespace */
  __u32 tid;
  __u32 kind;     /* enum hk_sys_kind */
  __u32 nr;       /* syscall number for HK_SYS_CALL */
  __u64 args[6];
  __s64 ret;      /* return value; -errno on failure */
  __u64 caller;   /* return address read at *(u64*)regs->sp at sys_enter */
  __s32 stack_id; /* bpf_get_stackid user stack, or negative when absent */
  __u32 cpu;
};

#ifdef __cplusplus
static_assert(sizeof(struct hk_sys_record) == 112, "hk_sys_record layout");
#elif !defined(__BPF__)
_Static_assert(sizeof(struct hk_sys_record) == 112, "hk_sys_record layout");
#endif

#endif /* HAKMEM_SYSCALL_RECORD_H */
