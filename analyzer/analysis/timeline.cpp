#include "analysis/timeline.h"

#include <algorithm>

namespace hk::analyze {

template <class T>
template <class Before>
void Timeline::Fifo<T>::push(const T* v, size_t n, Before before) {
  // Moving the live records down costs no more than the pops that freed
  // the room, so a record is copied O(1) times on average.
  if (head_ > 0 && head_ >= buf_.size() - head_) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
  }
  const auto old_size = static_cast<ptrdiff_t>(buf_.size());
  buf_.insert(buf_.end(), v, v + n);
  const auto first = buf_.begin() + static_cast<ptrdiff_t>(head_);
  const auto mid = buf_.begin() + old_size;
  // Sources are nearly sorted, so both steps are a scan in the common case;
  // only the overlap with what is already held gets merged.
  if (!std::is_sorted(mid, buf_.end(), before)) std::stable_sort(mid, buf_.end(), before);
  if (mid != first && mid != buf_.end() && before(*mid, *(mid - 1)))
    std::inplace_merge(std::upper_bound(first, mid, *mid, before), mid, buf_.end(), before);
}

Timeline::Timeline(TimelineSink& sink, TimelineLimits limits, SyscallTime syscall_time)
    : sink_(sink), limits_(limits), syscall_time_(syscall_time) {}

template <class T>
void Timeline::push_sliced(std::span<const T> records, Fifo<T>& fifo) {
  const auto before = [&](const T& a, const T& b) { return time_of(a) < time_of(b); };
  const size_t slice = std::max<size_t>(1, limits_.max_buffered / 4);
  for (size_t off = 0; off < records.size(); off += slice) {
    const size_t n = std::min(slice, records.size() - off);
    fifo.push(records.data() + off, n, before);
    newest_ = std::max(newest_, time_of(fifo.back()));
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
  push_sliced(events, it->fifo);
}

void Timeline::push_syscalls(std::span<const hk_sys_record> records) { push_sliced(records, kernel_); }

void Timeline::push_chunk(const TraceChunk& chunk) {
  if (chunk.type == HK_CHUNK_EVENTS) push_events(chunk.source_pid, chunk.events);
  else if (chunk.type == HK_CHUNK_SYSCALLS) push_syscalls(chunk.syscalls);
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
    if (!kernel_.empty()) best_ts = time_of(kernel_.front());
    for (EventSource& s : rings_) {
      if (s.fifo.empty()) continue;
      const uint64_t t = time_of(s.fifo.front());
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
    auto drain = [&](auto& fifo, auto deliver) {
      do {
        const uint64_t t = time_of(fifo.front());
        if (forced) --forced, ++released_early_;
        if (t < last_released_) ++out_of_order_;
        else last_released_ = t;
        --buffered_;
        deliver(fifo.front());
        fifo.pop();
      } while (!fifo.empty() && due(time_of(fifo.front())));
    };
    if (best_ring)
      drain(best_ring->fifo, [&](const hk_event& e) { sink_.on_event(best_ring->pid, e); });
    else
      drain(kernel_, [&](const hk_sys_record& r) { sink_.on_syscall(r); });
  }
}

}  // namespace hk::analyze
