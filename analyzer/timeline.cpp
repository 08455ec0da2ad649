#include "timeline.h"

#include <algorithm>

namespace hk::analyze {

template <class T>
void Timeline::Fifo<T>::push(const T& v) {
  if (size() == buf_.size()) {
    std::vector<T> bigger(std::max<size_t>(64, buf_.size() * 2));
    for (size_t i = 0; i < size(); ++i) bigger[i] = buf_[(head_ + i) & (buf_.size() - 1)];
    tail_ = size();
    head_ = 0;
    buf_.swap(bigger);
  }
  buf_[tail_++ & (buf_.size() - 1)] = v;
}

Timeline::Timeline(TimelineSink& sink, TimelineLimits limits) : sink_(sink), limits_(limits) {}

void Timeline::note_time(uint64_t ts) {
  if (ts > newest_) newest_ = ts;
}

void Timeline::push_events(uint32_t pid, std::span<const hk_event> events) {
  auto it = std::find_if(rings_.begin(), rings_.end(),
                         [pid](const EventSource& s) { return s.pid == pid; });
  if (it == rings_.end()) {
    rings_.push_back(EventSource{pid, {}});
    it = rings_.end() - 1;
  }
  for (const hk_event& e : events) {
    hk_event copy = e;
    copy.commit = pid;
    it->fifo.push(copy);
    note_time(e.ts_ns);
    if (++buffered_ > limits_.max_buffered) release(false);
  }
  peak_buffered_ = std::max(peak_buffered_, buffered_);
  release(false);
}

void Timeline::push_syscalls(std::span<const hk_sys_record> records) {
  for (const hk_sys_record& r : records) {
    kernel_.push(r);
    note_time(r.exit_ns);
    if (++buffered_ > limits_.max_buffered) release(false);
  }
  peak_buffered_ = std::max(peak_buffered_, buffered_);
  release(false);
}

void Timeline::finish() { release(true); }

void Timeline::release(bool everything) {
  const uint64_t horizon = newest_ > limits_.slack_ns ? newest_ - limits_.slack_ns : 0;
  while (buffered_ > 0) {
    // Few sources (one ring per process plus the kernel), so a linear scan
    // for the oldest head beats a heap.
    uint64_t best_ts = UINT64_MAX;
    EventSource* best_ring = nullptr;
    if (!kernel_.empty()) best_ts = kernel_.front().exit_ns;
    for (EventSource& s : rings_) {
      if (!s.fifo.empty() && s.fifo.front().ts_ns < best_ts) {
        best_ts = s.fifo.front().ts_ns;
        best_ring = &s;
      }
    }
    const bool over = buffered_ > limits_.max_buffered;
    if (!everything && !over && best_ts > horizon) break;
    if (over) ++released_early_;
    if (best_ts < last_released_) ++out_of_order_;
    else last_released_ = best_ts;
    --buffered_;
    if (best_ring) {
      hk_event e = best_ring->fifo.front();
      best_ring->fifo.pop();
      sink_.on_event(static_cast<uint32_t>(e.commit), e);
    } else {
      hk_sys_record r = kernel_.front();
      kernel_.pop();
      sink_.on_syscall(r);
    }
  }
}

}  // namespace hk::analyze
