// Timeline: merges a trace's sources into one stream in time order.
//
// Contract: the analysis (one thread) pushes records chunk by chunk as
// TraceReader hands them out: allocator events per ring (one ring per
// process) and kernel syscall records. The timeline keeps one FIFO per
// source and hands records to its Sink in merged timestamp order
// (hk_event::ts_ns; hk_sys_record::exit_ns, the moment the result exists).
//
// Memory is bounded: a record is held back only while a later chunk of
// another source could still precede it (slack_ns behind the newest time
// seen), and never more than max_buffered records (plus one slice of a
// quarter of that) in total; past that the oldest is released early. A record that arrives older than one already
// released is still delivered (the join tolerates disorder) and counted in
// out_of_order(). The pid of an allocator event travels in hk_event::commit,
// which is always zero in a trace file.
#pragma once

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

class Timeline {
 public:
  explicit Timeline(TimelineSink& sink, TimelineLimits limits = {});
  void push_events(uint32_t pid, std::span<const hk_event> events);
  void push_syscalls(std::span<const hk_sys_record> records);
  // Delivers everything still held (end of trace).
  void finish();

  uint64_t out_of_order() const { return out_of_order_; }
  uint64_t released_early() const { return released_early_; }
  size_t peak_buffered() const { return peak_buffered_; }

 private:
  // A growable circular FIFO; it never shrinks, so steady state allocates
  // nothing.
  template <class T>
  class Fifo {
   public:
    bool empty() const { return head_ == tail_; }
    size_t size() const { return tail_ - head_; }
    const T& front() const { return buf_[head_ & (buf_.size() - 1)]; }
    void pop() { ++head_; }
    void push(const T* v, size_t n);

   private:
    std::vector<T> buf_;
    size_t head_ = 0, tail_ = 0;
  };
  struct EventSource {
    uint32_t pid;
    Fifo<hk_event> fifo;
  };

  void note_time(uint64_t ts);
  template <class T, class F, class Time>
  void push_sliced(std::span<const T> records, F& fifo, Time time);
  void release(bool everything);

  TimelineSink& sink_;
  TimelineLimits limits_;
  std::vector<EventSource> rings_;
  Fifo<hk_sys_record> kernel_;
  size_t buffered_ = 0, peak_buffered_ = 0;
  uint64_t newest_ = 0, last_released_ = 0;
  uint64_t out_of_order_ = 0, released_early_ = 0;
};

}  // namespace hk::analyze
