#include "timeline.h"

#include <algorithm>

namespace hk::analyze {

template <class T>
void Timeline::Fifo<T>::push(const T* v, size_t n) {
  if (size() + n > buf_.size()) {
    size_t cap = std::max<size_t>(64, buf_.size());
    while (cap < size() + n) cap *= 2;
    std::vector<T> bigger(cap);
    for (size_t i = 0; i < size(); ++i) bigger[i] = buf_[(head_ + i) & (buf_.size() - 1)];
    tail_ = size();
    head_ = 0;
    buf_.swap(bigger);
  }
  // At most two contiguous runs: up to the end of the buffer, then from 0.
  const size_t mask = buf_.size() - 1;
  const size_t at = tail_ & mask;
  const size_t first = std::min(n, buf_.size() - at);
  std::copy(v, v + first, buf_.begin() + static_cast<ptrdiff_t>(at));
  std::copy(v + first, v + n, buf_.begin());
  tail_ += n;
}

Timeline::Timeline(TimelineSink& sink, TimelineLimits limits) : sink_(sink), limits_(limits) {}

void Timeline::note_time(uint64_t ts) {
  if (ts > newest_) newest_ = ts;
}

template <class T, class F, class Time>
void Timeline::push_sliced(std::span<const T> records, F& fifo, Time time) {
  const size_t slice = std::max<size_t>(1, limits_.max_buffered / 4);
  for (size_t off = 0; off < records.size(); off += slice) {
    const size_t n = std::min(slice, records.size() - off);
    fifo.push(records.data() + off, n);
    for (size_t i = off; i < off + n; ++i) note_time(time(records[i]));
    buffered_ += n;
    peak_buffered_ = std::max(peak_buffered_, buffered_);
    release(false);
  }
}

void Timeline::push_events(uint32_t pid, std::span<const hk_event> events) {
  auto it = std::find_if(rings_.begin(), rings_.end(),
                         [pid](const EventSource& s) { return s.pid == pid; });
  if (it == rings_.end()) {
    rings_.push_back(EventSource{pid, {}});
    it = rings_.end() - 1;
  }
  push_sliced(events, it->fifo, [](const hk_event& e) { return e.ts_ns; });
}

void Timeline::push_syscalls(std::span<const hk_sys_record> records) {
  push_sliced(records, kernel_, [](const hk_sys_record& r) { return r.exit_ns; });
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
    // The sink reads the record in place; pop only after it returns.
    if (best_ring) {
      sink_.on_event(best_ring->pid, best_ring->fifo.front());
      best_ring->fifo.pop();
    } else {
      sink_.on_syscall(kernel_.front());
      kernel_.pop();
    }
  }
}

}  // namespace hk::analyze
