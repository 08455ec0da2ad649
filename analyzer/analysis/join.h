// Join: matches the allocator's own account of its memory syscalls
// (HK_EV_OS_MMAP/MUNMAP/MADVISE) with the kernel's (hk_sys_record).
//
// Contract: the analysis feeds records in time order (Timeline's output) on
// one thread. A pair matches when it is on the same tid, the same syscall,
// the same address and length (for mmap: the returned address; a failed call
// matches on its errno) and the syscall precedes the event. The allocator
// emits its event right after the syscall returns, so on one thread nothing
// memory-related happens between the two: a pending syscall older than a
// matched one on the same tid cannot match any more and is resolved as
// kernel-only, and vice versa.
//
// Memory is bounded: per tid at most max_pending records wait on each side,
// and nothing waits once the other side's stream is window_ns past it (a
// source whose chunks run ahead in the file does not starve the other). Whatever a bound
// pushes out is resolved as unmatched and counted in overflowed(). Every
// record fed in is resolved exactly once, through the JoinSink, by finish().
// brk and mremap are never the allocator's (it has no path that makes them),
// so they resolve as kernel-only at once; so do records of non-calls
// (fork/exec/exit), which are not counted at all.
#pragma once

#include <hakmem/events.h>
#include <hakmem/syscall_record.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace hk::analyze {

class JoinSink {
 public:
  virtual ~JoinSink() = default;
  virtual void on_matched(const hk_sys_record& sys, const hk_event& ev) = 0;
  virtual void on_kernel_only(const hk_sys_record& sys) = 0;
  virtual void on_allocator_only(uint32_t pid, const hk_event& ev) = 0;
};

struct JoinLimits {
  // The allocator emits within microseconds of the syscall's return; 200 ms
  // of trace time still covers a thread preempted in between.
  uint64_t window_ns = 200'000'000;
  // Per tid and per side. A thread that makes thousands of foreign syscalls
  // and no allocator ones would otherwise hold them all until the window.
  size_t max_pending = 1024;
  // Over all threads: a trace with records on very many tids (a hostile
  // one) resolves everything pending when this is exceeded.
  size_t max_pending_total = size_t{1} << 18;
};

struct JoinCounts {
  uint64_t matched = 0;
  uint64_t kernel_only = 0;     // kernel syscalls with no allocator event
  uint64_t allocator_only = 0;  // allocator events with no kernel syscall
  uint64_t overflowed = 0;      // resolved early by max_pending
};

class Join {
 public:
  explicit Join(JoinSink& sink, JoinLimits limits = {});
  void on_syscall(const hk_sys_record& sys);
  // ev must be one of HK_EV_OS_*; pid is its ring's process.
  void on_event(uint32_t pid, const hk_event& ev);
  // Sweeps every thread's pending records against the window; cheap to call
  // per record (it does the work once per quarter window of trace time).
  void advance(uint64_t now_ns);
  void finish();
  const JoinCounts& counts() const { return counts_; }

  static bool joinable_syscall(const hk_sys_record& sys);
  static bool joinable_event(const hk_event& ev);

 private:
  struct PendingEvent {
    uint32_t pid;
    hk_event ev;
  };
  struct Pending {
    std::vector<hk_sys_record> sys;
    std::vector<PendingEvent> ev;
  };
  static bool keys_match(const hk_sys_record& sys, const hk_event& ev);
  // The two sides seen from either one, so that one routine serves both.
  static bool keys_match(const hk_sys_record& sys, const PendingEvent& e) { return keys_match(sys, e.ev); }
  static bool keys_match(const PendingEvent& e, const hk_sys_record& sys) { return keys_match(sys, e.ev); }
  void resolve_alone(const hk_sys_record& sys);
  void resolve_alone(const PendingEvent& e);
  void resolve_matched(const hk_sys_record& sys, const PendingEvent& e) { sink_.on_matched(sys, e.ev); }
  void resolve_matched(const PendingEvent& e, const hk_sys_record& sys) { sink_.on_matched(sys, e.ev); }
  template <class T>
  void drop(std::vector<T>& side, size_t n);
  template <class T, class Other>
  void pair_or_hold(const T& rec, std::vector<T>& same_side, std::vector<Other>& other_side);
  void expire(Pending& p);

  JoinSink& sink_;
  JoinLimits limits_;
  JoinCounts counts_;
  std::unordered_map<uint32_t, Pending> by_tid_;
  uint64_t last_sweep_ns_ = 0;
  uint64_t kernel_now_ = 0, allocator_now_ = 0;  // newest time seen per side
  size_t pending_total_ = 0;
  void resolve_all();
};

}  // namespace hk::analyze
