// Timeline: merges a trace's sources into one stream in time order.
//
// Contract: one thread (the report's Analysis, or `events`) pushes records
// chunk by chunk as TraceReader hands them out: allocator events per ring
// (one ring per process) and kernel syscall records. The timeline keeps one
// queue per source and hands records to its Sink in merged timestamp order:
// hk_event::ts_ns, and hk_sys_record::exit_ns or enter_ns as the owner
// chose (SyscallTime). Records within one source need not arrive sorted
// (the probe emits at exit, so by enter time they never are); each queue is
// kept sorted as chunks arrive. Equal times keep each source's arrival order.
//
// Memory is bounded: a record is held back only while a later chunk of
// another source could still precede it (slack_ns behind the newest time
// seen), and never more than max_buffered records (plus one slice of a
// quarter of that) in total; past that the oldest is released early. A
// record that arrives older than one already released is still delivered
// (the join tolerates disorder, a listing shows it) and counted in
// out_of_order(). The pid of an allocator event travels in hk_event::commit,
// which is always zero in a trace file.
#pragma once

#include "trace/trace_file.h"

#include <hakmem/events.h>
#include <hakmem/syscall_record.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace hk::analyze {

class TimelineSink {
 public:
  virtual ~TimelineSink() = default;
  virtual void on_event(uint32_t pid, const hk_event& ev) = 0;
  virtual void on_syscall(const hk_sys_record& rec) = 0;
};

struct TimelineLimits {
  // The recorder polls every source each round; a quarter second covers a
  // slow round without holding much (records are 64-112 bytes).
  uint64_t slack_ns = 250'000'000;
  // 64 Ki records: at most ~7 MiB held, whatever the trace's length.
  size_t max_buffered = size_t{1} << 16;
};

// Which moment of a syscall places it among the allocator's events.
enum class SyscallTime {
  // The result exists: the allocator's event about a call comes after it.
  // The join needs this order.
  exit,
  // The call began: a listing of what each thread started, and when.
  enter,
};

class Timeline {
 public:
  explicit Timeline(TimelineSink& sink, TimelineLimits limits = {},
                    SyscallTime syscall_time = SyscallTime::exit);
  void push_events(uint32_t pid, std::span<const hk_event> events);
  void push_syscalls(std::span<const hk_sys_record> records);
  // The records of an EVENTS or SYSCALLS chunk; other chunks carry none.
  void push_chunk(const TraceChunk& chunk);
  // Delivers everything still held (end of trace).
  void finish();

  uint64_t out_of_order() const { return out_of_order_; }
  uint64_t released_early() const { return released_early_; }
  size_t peak_buffered() const { return peak_buffered_; }

 private:
  // A FIFO kept sorted by time. Popped records are reclaimed once they
  // outnumber the live ones, and the buffer never shrinks, so steady state
  // allocates nothing.
  template <class T>
  class Fifo {
   public:
    bool empty() const { return head_ == buf_.size(); }
    const T& front() const { return buf_[head_]; }
    const T& back() const { return buf_.back(); }
    void pop() { ++head_; }
    template <class Before>
    void push(const T* v, size_t n, Before before);

   private:
    std::vector<T> buf_;
    size_t head_ = 0;
  };
  struct EventSource {
    uint32_t pid;
    Fifo<hk_event> fifo;
  };

  static uint64_t time_of(const hk_event& e) { return e.ts_ns; }
  uint64_t time_of(const hk_sys_record& r) const {
    return syscall_time_ == SyscallTime::enter ? r.enter_ns : r.exit_ns;
  }
  template <class T>
  void push_sliced(std::span<const T> records, Fifo<T>& fifo);
  void release(bool everything);

  TimelineSink& sink_;
  TimelineLimits limits_;
  SyscallTime syscall_time_;
  std::vector<EventSource> rings_;
  Fifo<hk_sys_record> kernel_;
  size_t buffered_ = 0, peak_buffered_ = 0;
  uint64_t newest_ = 0, last_released_ = 0;
  uint64_t out_of_order_ = 0, released_early_ = 0;
};

}  // namespace hk::analyze
