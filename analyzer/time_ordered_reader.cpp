// TimeOrderedReader: bounded reorder window over a trace. See the header.
#include "time_ordered_reader.h"

#include <algorithm>

namespace hk::analyze {

bool TimeOrderedReader::Later::operator()(const std::pair<uint64_t, TimedRecord>& a,
                                          const std::pair<uint64_t, TimedRecord>& b) const {
  if (a.second.t_ns != b.second.t_ns) return a.second.t_ns > b.second.t_ns;
  return a.first > b.first;
}

TimeOrderedReader::TimeOrderedReader(TraceReader& reader, uint64_t window_ns,
                                     std::function<void(const TraceChunk&)> other)
    : reader_(reader), window_(window_ns), other_(std::move(other)) {}

bool TimeOrderedReader::refill() {
  TraceChunk c;
  if (!reader_.next(c)) return false;
  auto push = [&](TimedRecord r) {
    newest_ = std::max(newest_, r.t_ns);
    heap_.emplace(arrivals_++, r);
  };
  for (const auto& e : c.events) {
    TimedRecord r;
    r.t_ns = e.ts_ns;
    r.source_pid = c.source_pid;
    r.ev = e;
    push(r);
  }
  for (const auto& s : c.syscalls) {
    TimedRecord r;
    r.t_ns = s.enter_ns;
    r.kernel = true;
    r.source_pid = s.pid;
    r.sys = s;
    push(r);
  }
  if (c.events.empty() && c.syscalls.empty() && other_) other_(c);
  return true;
}

bool TimeOrderedReader::next(TimedRecord& out) {
  // Read until the oldest held record is safely behind the newest time seen.
  while (!eof_ && heap_.size() < kMaxBuffered &&
         (heap_.empty() || newest_ - heap_.top().second.t_ns < window_))
    if (!refill()) eof_ = true;
  if (heap_.empty()) return false;
  out = heap_.top().second;
  heap_.pop();
  if (any_out_ && out.t_ns < last_out_) ++late_;
  else last_out_ = out.t_ns;
  any_out_ = true;
  return true;
}

}  // namespace hk::analyze
