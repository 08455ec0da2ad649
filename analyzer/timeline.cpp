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
    // for the two oldest heads beats a heap. Then the oldest source runs on
    // alone for as long as it stays ahead of the runner-up.
    uint64_t best_ts = UINT64_MAX, next_ts = UINT64_MAX;
    EventSource* best_ring = nullptr;
    if (!kernel_.empty()) best_ts = kernel_.front().exit_ns;
    for (EventSource& s : rings_) {
      if (s.fifo.empty()) continue;
      const uint64_t t = s.fifo.front().ts_ns;
      if (t < best_ts) {
        next_ts = best_ts;
        best_ts = t;
        best_ring = &s;
      } else if (t < next_ts) {
        next_ts = t;
      }
    }
    const bool over = buffered_ > limits_.max_buffered;
    if (!everything && !over && best_ts > horizon) break;
    // Run while this source's head is no later than the runner-up's and
    // still due (past the horizon, or forced out by the bound or the end).
    const uint64_t limit = everything ? next_ts : std::min(next_ts, over ? UINT64_MAX : horizon);
    size_t forced = over ? buffered_ - limits_.max_buffered : 0;
    auto due = [&](uint64_t t) {
      if (t <= limit) return true;
      if (forced == 0 || t > next_ts) return false;
      return true;
    };
    auto take = [&](uint64_t t) {
      if (forced) --forced, ++released_early_;
      if (t < last_released_) ++out_of_order_;
      else last_released_ = t;
      --buffered_;
    };
    if (best_ring) {
      Fifo<hk_event>& f = best_ring->fifo;
      do {
        take(f.front().ts_ns);
        sink_.on_event(best_ring->pid, f.front());
        f.pop();
      } while (!f.empty() && due(f.front().ts_ns));
    } else {
      do {
        take(kernel_.front().exit_ns);
        sink_.on_syscall(kernel_.front());
        kernel_.pop();
      } while (!kernel_.empty() && due(kernel_.front().exit_ns));
    }
  }
}

}  // namespace hk::analyze
