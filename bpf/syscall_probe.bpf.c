// SPDX-License-Identifier: GPL-2.0
/* Kernel half of the hakmem syscall probe (loader: bpf/syscall_probe.cpp).
 *
 * Records mmap, munmap, brk, mremap and madvise of a process tree, plus its
 * forks, execs and exits, as struct hk_sys_record in a BPF ring buffer; and
 * the tree's user page faults (exceptions:page_fault_user), summed per
 * thread into runs within one 2 MiB granule, one fault in
 * HK_FAULT_TIME_EVERY timed up to the rss_stat update that maps its page,
 * and its RSS, sampled at those faults and after each recorded syscall.
 *
 * Two program sets with identical behaviour: tp_btf (preferred, BTF-typed
 * arguments read directly) and raw_tp (fallback for kernels that refuse
 * tp_btf, and the only kind BPF_PROG_TEST_RUN accepts). Each pair of twins
 * is a thin wrapper around one __always_inline body; the `trusted` flag only
 * selects direct loads versus probe reads of the kernel structures.
 *
 * The syscall hooks fire for every syscall on the machine, so the cheapest
 * test (is this one of our five syscall numbers?) comes first, then the
 * traced-tgid map. The enter time is stashed in task-local storage, which
 * the kernel frees with the thread, so nothing leaks when a thread dies.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <hakmem/syscall_record.h>

#include "syscall_probe_stash.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile bool cfg_user_stacks = true;
/* Wake the reader once every (mask + 1) records, not for each one: a wakeup
 * costs more than the record itself. The reader's poll timeout bounds the
 * latency of the remainder. */
const volatile __u64 cfg_wakeup_mask = 511;
/* A fault run is closed after this long even within its granule, so that
 * a thread that faults without making syscalls still reports in time. */
const volatile __u64 cfg_run_max_ns = 10000000;
/* RSS samples of one thread: at most one per interval, and only when the
 * RSS moved by at least min_pages since the last one. */
const volatile __u64 cfg_rss_interval_ns = 1000000;
const volatile __u64 cfg_rss_min_pages = 64;
/* Faults and RSS off: the syscall-only probe of version 1. */
const volatile bool cfg_faults = true;

/* One fault in this many (a power of two) is timed and samples the RSS,
 * and every run's first: the clock read, the hand-off to rss_stat and its
 * task-storage lookup were over half of what the two fault programs cost
 * per fault (bpf_stats: 145 + 151 ns a fault, 96 + 77 sampled). The
 * report scales the timed faults' time up to all of them. */
#define HK_FAULT_TIME_EVERY 8

/* Every record consumes one number, also the ones that could not be
 * delivered, so that a gap in the stream is exactly a lost record. */
__u64 next_seq = 0;

/* Innermost frames are the ones that attribute a call; 32 keeps the map at
 * 16384 buckets x 256 bytes, and more buckets mean fewer hash collisions
 * (a colliding stack gets no id: stack_id is then -EEXIST). */
#define HK_STACK_DEPTH 32

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32);  /* tgid */
  __type(value, __u8);
} traced_tgids SEC(".maps");

/* struct hk_enter_stash per thread, created at its first traced call. Its
 * existence also means "this thread's process is traced", which saves the
 * tgid lookup on every later call (a thread never leaves a traced process
 * alive: the tgid is only removed once the whole process has exited). */
struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct hk_enter_stash);
} inflight SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20); /* resized by the loader */
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");

/* A timed fault in flight on this CPU: which task took it, when, and its
 * number in the task's faults. rss_stat finds it here with an array
 * lookup instead of a task-storage one, which for the 7 faults in 8 that
 * are not timed is all it does. A fault that ends without an rss_stat
 * update (or whose task moved to another CPU) leaves the slot armed; the
 * number tells a later update that the fault is over. */
struct hk_fault_clock {
  __u64 task;
  __u64 start_ns;
  __u32 fault_seq;
  __u32 pad;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct hk_fault_clock);
} fault_clock SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 16384); /* 1 when user stacks are off */
  __uint(key_size, sizeof(__u32));
  __uint(value_size, HK_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

#define HK_NR_MASK                                                    \
  ((1ull << HK_NR_MMAP) | (1ull << HK_NR_MUNMAP) | (1ull << HK_NR_BRK) | \
   (1ull << HK_NR_MREMAP) | (1ull << HK_NR_MADVISE))

/* x86 thread_info.status bit: the current syscall is a 32-bit one. */
#define HK_TS_COMPAT 0x0002

static __always_inline bool wanted_nr(long nr) {
  return nr >= 0 && nr < 64 && ((1ull << nr) & HK_NR_MASK);
}

static __always_inline bool tgid_traced(__u32 tgid) {
  return bpf_map_lookup_elem(&traced_tgids, &tgid) != 0;
}

static __always_inline void count_lost(void) {
  __u32 zero = 0;
  __u64* n = bpf_map_lookup_elem(&lost, &zero);
  if (n) *n += 1; /* per-CPU slot: no other writer */
}

/* Takes a sequence number and a ring slot. On failure the number is spent
 * and the loss counted, so readers see the gap and lost() agrees. */
static __always_inline struct hk_sys_record* reserve_record(void) {
  const __u64 seq = __sync_fetch_and_add(&next_seq, 1);
  struct hk_sys_record* r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
  if (!r) {
    count_lost();
    return 0;
  }
  r->seq = seq;
  r->cpu = bpf_get_smp_processor_id();
  return r;
}

static __always_inline void submit_record(struct hk_sys_record* r, bool urgent) {
  const bool wake = urgent || (r->seq & cfg_wakeup_mask) == 0;
  bpf_ringbuf_submit(r, wake ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* Reads one pt_regs field: a direct load when the pointer is BTF-typed
 * (tp_btf), a probe read otherwise (raw_tp). `trusted` is a compile-time
 * constant in every caller, so each program keeps only one branch. */
#define REGS_FIELD(trusted, regs, field) \
  ((trusted) ? (__u64)(regs)->field : (__u64)BPF_CORE_READ(regs, field))

/* The stash of the current thread if its process is traced (created at
 * its first traced event), else 0. */
static __always_inline struct hk_enter_stash* traced_stash(struct task_struct* task) {
  struct hk_enter_stash* s = bpf_task_storage_get(&inflight, task, 0, 0);
  if (s) return s;
  if (!tgid_traced(bpf_get_current_pid_tgid() >> 32)) return 0;
  s = bpf_task_storage_get(&inflight, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!s) {
    /* Burn a number so the reader sees this call (or fault) as lost. */
    __sync_fetch_and_add(&next_seq, 1);
    count_lost();
  }
  return s;
}

/* The granule a fault run stays within: a SuperSlab's size, and small
 * enough that one run rarely spans two mappings. */
#define HK_RUN_GRANULE_SHIFT 21

static __always_inline void flush_faults(struct hk_enter_stash* s) {
  if (!s->run_faults) return;
  struct hk_sys_record* r = reserve_record();
  if (r) {
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    r->enter_ns = s->run_first_ns;
    r->exit_ns = s->run_last_ns;
    r->pid = pid_tgid >> 32;
    r->tid = (__u32)pid_tgid;
    r->kind = HK_SYS_FAULTS;
    r->nr = 0;
    r->args[0] = s->run_lo;
    r->args[1] = s->run_hi;
    r->args[2] = s->run_faults;
    r->args[3] = s->run_timed;
    r->args[4] = s->run_fault_ns;
    r->args[5] = s->run_writes;
    r->ret = 0;
    r->caller = s->run_ip;
    r->stack_id = -1;
    submit_record(r, false);
  }
  s->run_faults = 0;
}

/* Samples the RSS of the current process into a record: at most one per
 * cfg_rss_interval_ns of this thread, and only once it moved by
 * cfg_rss_min_pages; in between, the highest value seen is kept. Called at
 * timed faults (growth) and after each recorded syscall (munmap, madvise
 * and brk are where it shrinks). */
static __always_inline void sample_rss(struct hk_enter_stash* s, struct task_struct* task,
                                       __u64 now) {
  struct mm_struct* mm = task->mm;
  if (!mm) return;
  /* MM_FILEPAGES 0, MM_ANONPAGES 1, MM_SWAPENTS 2, MM_SHMEMPAGES 3 */
  const __s64 file = mm->rss_stat[0].count;
  const __s64 anon = mm->rss_stat[1].count;
  const __s64 swap = mm->rss_stat[2].count;
  const __s64 shmem = mm->rss_stat[3].count;
  __s64 pages = file + anon + shmem;
  if (pages < 0) pages = 0;
  if ((__u64)pages > s->rss_peak_pages) s->rss_peak_pages = pages;
  const __u64 moved = (__u64)pages > s->rss_last_pages ? (__u64)pages - s->rss_last_pages
                                                       : s->rss_last_pages - (__u64)pages;
  if (moved < cfg_rss_min_pages || now - s->rss_last_ns < cfg_rss_interval_ns) return;
  struct hk_sys_record* r = reserve_record();
  if (!r) return;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  r->enter_ns = now;
  r->exit_ns = now;
  r->pid = pid_tgid >> 32;
  r->tid = (__u32)pid_tgid;
  r->kind = HK_SYS_RSS;
  r->nr = 0;
  r->args[0] = file < 0 ? 0 : file;
  r->args[1] = anon < 0 ? 0 : anon;
  r->args[2] = swap < 0 ? 0 : swap;
  r->args[3] = shmem < 0 ? 0 : shmem;
  r->args[4] = s->rss_peak_pages;
  r->args[5] = 0;
  r->ret = 0;
  r->caller = 0;
  r->stack_id = -1;
  submit_record(r, false);
  s->rss_last_ns = now;
  s->rss_last_pages = pages;
  s->rss_peak_pages = pages;
}

/* Only the enter time is kept: the arguments are read at exit from the same
 * saved user registers, which the syscall ABI preserves (only ax, cx and r11
 * change), and the five calls recorded never rewrite them. */
static __always_inline int on_sys_enter(long nr) {
  if (!wanted_nr(nr)) return 0;
  struct task_struct* task = bpf_get_current_task_btf();
  /* A 32-bit call (int 0x80) numbers syscalls differently: 9 is link(2). */
  if (task->thread_info.status & HK_TS_COMPAT) return 0;
  struct hk_enter_stash* s = traced_stash(task);
  if (!s) return 0;
  /* The faults so far precede this call in the stream. */
  flush_faults(s);
  s->nr = nr;
  s->enter_ns = bpf_ktime_get_ns();
  return 0;
}

static __always_inline int on_sys_exit(void* ctx, struct pt_regs* regs, long ret,
                                       bool trusted) {
  long nr = REGS_FIELD(trusted, regs, orig_ax);
  if (!wanted_nr(nr)) return 0;
  struct task_struct* task = bpf_get_current_task_btf();
  struct hk_enter_stash* s = bpf_task_storage_get(&inflight, task, 0, 0);
  if (!s || s->nr != nr) return 0;
  s->nr = 0;
  __u64 exit_ns = bpf_ktime_get_ns();

  struct hk_sys_record* r = reserve_record();
  if (!r) return 0;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  r->enter_ns = s->enter_ns;
  r->exit_ns = exit_ns;
  r->pid = pid_tgid >> 32;
  r->tid = (__u32)pid_tgid;
  r->kind = HK_SYS_CALL;
  r->nr = nr;
  r->args[0] = REGS_FIELD(trusted, regs, di);
  r->args[1] = REGS_FIELD(trusted, regs, si);
  r->args[2] = REGS_FIELD(trusted, regs, dx);
  r->args[3] = REGS_FIELD(trusted, regs, r10);
  r->args[4] = REGS_FIELD(trusted, regs, r8);
  r->args[5] = REGS_FIELD(trusted, regs, r9);
  r->ret = ret;
  /* The top of the user stack is the return address into the caller of the
   * libc wrapper (libc has no frame pointers, so stacks miss that frame).
   * Read into the BPF stack: a hardened-usercopy check on a map-value
   * destination costs more than the read itself. */
  __u64 caller = 0;
  bpf_probe_read_user(&caller, sizeof(caller), (void*)REGS_FIELD(trusted, regs, sp));
  r->caller = caller;
  r->stack_id = cfg_user_stacks ? bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK) : -1;
  submit_record(r, false);
  /* The RSS the call left, behind its record in the stream. */
  if (cfg_faults) sample_rss(s, task, exit_ns);
  return 0;
}

/* Fork, exec and exit records: one shape, no syscall data. */
static __always_inline void emit_task_record(__u32 kind, __u32 tgid, __u64 arg0,
                                             __u64 arg1) {
  struct hk_sys_record* r = reserve_record();
  if (!r) return;
  __u64 now = bpf_ktime_get_ns();
  r->enter_ns = now;
  r->exit_ns = now;
  r->pid = tgid;
  r->tid = (__u32)bpf_get_current_pid_tgid();
  r->kind = kind;
  r->nr = 0;
  r->args[0] = arg0;
  r->args[1] = arg1;
  r->args[2] = 0;
  r->args[3] = 0;
  r->args[4] = 0;
  r->args[5] = 0;
  r->ret = 0;
  r->caller = 0;
  r->stack_id = -1;
  submit_record(r, kind == HK_SYS_EXIT);
}

/* A user page fault, at its entry (before the handler). Every fault joins
 * its thread's run; one in HK_FAULT_TIME_EVERY (and a run's first) reads
 * the clock, arms this CPU's fault clock for rss_stat and samples the RSS.
 * The run's exit_ns is its last timed fault. */
static __always_inline int on_fault(__u64 address, struct pt_regs* regs, __u64 error_code,
                                    bool trusted) {
  if (!cfg_faults) return 0;
  struct task_struct* task = bpf_get_current_task_btf();
  struct hk_enter_stash* s = traced_stash(task);
  if (!s) return 0;
  s->fault_seq += 1;
  if (s->run_faults &&
      (address >> HK_RUN_GRANULE_SHIFT) != (s->run_lo >> HK_RUN_GRANULE_SHIFT))
    flush_faults(s);
  if ((s->run_faults & (HK_FAULT_TIME_EVERY - 1)) == 0) {
    const __u64 now = bpf_ktime_get_ns();
    if (s->run_faults && now - s->run_first_ns > cfg_run_max_ns) flush_faults(s);
    if (!s->run_faults) {
      s->run_first_ns = now;
      s->run_lo = address;
      s->run_hi = address;
      s->run_ip = REGS_FIELD(trusted, regs, ip);
      s->run_fault_ns = 0;
      s->run_timed = 0;
      s->run_writes = 0;
    }
    s->run_last_ns = now;
    __u32 zero = 0;
    struct hk_fault_clock* c = bpf_map_lookup_elem(&fault_clock, &zero);
    if (c) {
      c->task = (__u64)task;
      c->start_ns = now;
      c->fault_seq = s->fault_seq;
    }
    sample_rss(s, task, now);
  }
  if (address < s->run_lo) s->run_lo = address;
  else if (address > s->run_hi) s->run_hi = address;
  s->run_faults += 1;
  s->run_writes += (error_code & 2) ? 1 : 0; /* X86_PF_WRITE */
  return 0;
}

/* An mm counter changed. After a timed fault of this task on this CPU it
 * is the moment the new page is accounted (after its allocation and
 * zeroing): the end of the fault's timed part. Anything else returns after
 * one array lookup. */
static __always_inline int on_rss_stat(void) {
  if (!cfg_faults) return 0;
  __u32 zero = 0;
  struct hk_fault_clock* c = bpf_map_lookup_elem(&fault_clock, &zero);
  struct task_struct* task = bpf_get_current_task_btf();
  if (!c || c->task != (__u64)task) return 0;
  c->task = 0;
  struct hk_enter_stash* s = bpf_task_storage_get(&inflight, task, 0, 0);
  /* A later fault, or a syscall's own update: that fault ended unseen. */
  if (!s || s->fault_seq != c->fault_seq || s->nr) return 0;
  s->run_fault_ns += bpf_ktime_get_ns() - c->start_ns;
  s->run_timed += 1;
  return 0;
}

/* Fires for threads too; only a new thread group is a new process. */
static __always_inline int on_fork(struct task_struct* parent, struct task_struct* child) {
  __u32 parent_tgid = BPF_CORE_READ(parent, tgid);
  __u32 child_tgid = BPF_CORE_READ(child, tgid);
  if (child_tgid == parent_tgid || !tgid_traced(parent_tgid)) return 0;
  __u8 one = 1;
  if (bpf_map_update_elem(&traced_tgids, &child_tgid, &one, BPF_ANY) != 0) {
    /* The child's calls will be missing: make that visible as a loss. */
    __sync_fetch_and_add(&next_seq, 1);
    count_lost();
    return 0;
  }
  emit_task_record(HK_SYS_FORK, parent_tgid, child_tgid, BPF_CORE_READ(child, pid));
  return 0;
}

static __always_inline int on_exec(void) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (tgid_traced(tgid)) emit_task_record(HK_SYS_EXEC, tgid, 0, 0);
  return 0;
}

/* Every thread passes here; the process is gone when the last one does.
 * Threads of one exit_group race here, and several may see live == 0, so
 * only the one whose delete succeeds reports the exit. */
static __always_inline int on_exit(struct task_struct* task) {
  /* This thread's last faults, before its process's exit record. */
  struct hk_enter_stash* s = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
  if (s) flush_faults(s);
  if (BPF_CORE_READ(task, signal, live.counter) != 0) return 0;
  __u32 tgid = BPF_CORE_READ(task, tgid);
  if (bpf_map_delete_elem(&traced_tgids, &tgid) == 0)
    emit_task_record(HK_SYS_EXIT, tgid, 0, 0);
  return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs* regs, long id) { return on_sys_enter(id); }

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs* regs, long ret) {
  return on_sys_exit(ctx, regs, ret, true);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(btf_fork, struct task_struct* parent, struct task_struct* child) {
  return on_fork(parent, child);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(btf_exec) { return on_exec(); }

SEC("tp_btf/sched_process_exit")
int BPF_PROG(btf_exit, struct task_struct* task) { return on_exit(task); }

SEC("tp_btf/page_fault_user")
int BPF_PROG(btf_fault, unsigned long address, struct pt_regs* regs, unsigned long error_code) {
  return on_fault(address, regs, error_code, true);
}

SEC("tp_btf/rss_stat")
int BPF_PROG(btf_rss_stat, struct mm_struct* mm, int member) { return on_rss_stat(); }

SEC("raw_tp/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs* regs, long id) { return on_sys_enter(id); }

SEC("raw_tp/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs* regs, long ret) {
  return on_sys_exit(ctx, regs, ret, false);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(raw_fork, struct task_struct* parent, struct task_struct* child) {
  return on_fork(parent, child);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(raw_exec) { return on_exec(); }

SEC("raw_tp/sched_process_exit")
int BPF_PROG(raw_exit, struct task_struct* task) { return on_exit(task); }

SEC("raw_tp/page_fault_user")
int BPF_PROG(raw_fault, unsigned long address, struct pt_regs* regs, unsigned long error_code) {
  return on_fault(address, regs, error_code, false);
}

SEC("raw_tp/rss_stat")
int BPF_PROG(raw_rss_stat, struct mm_struct* mm, int member) { return on_rss_stat(); }
