// TimeOrderedReader: both sources of a trace, merged into one time order.
//
// Contract: one thread. Wraps a TraceReader and hands out allocator events
// (keyed by ts_ns) and kernel records (keyed by enter_ns) in time order.
// The recorder writes each source's chunks within about 100 ms of reading
// the records, so chunks from different sources overlap in time by a bounded
// amount: records are held in a heap until the newest time seen is `window`
// past them, then released. Memory is bounded by the records inside the
// window (and by a hard cap, for hostile files whose times do not advance),
// never by the file size. A record that turns up later than the window
// allows is still returned, just out of order, and counted in late().
#pragma once

#include "trace_file.h"

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace hk::analyze {

struct TimedRecord {
  uint64_t t_ns = 0;   // ts_ns or enter_ns
  bool kernel = false; // which member is valid
  uint32_t source_pid = 0;  // the ring owner (allocator events)
  union {
    hk_event ev;
    hk_sys_record sys;
  };
  TimedRecord() : ev{} {}
};

class TimeOrderedReader {
 public:
  static constexpr uint64_t kDefaultWindowNs = 1'000'000'000;
  static constexpr size_t kMaxBuffered = 1u << 20;

  // `other` sees every META, RING and FOOTER chunk as it is read.
  explicit TimeOrderedReader(TraceReader& reader, uint64_t window_ns = kDefaultWindowNs,
                             std::function<void(const TraceChunk&)> other = {});

  // Next record in time order; false at the end. Throws TraceError.
  bool next(TimedRecord& out);
  uint64_t late() const { return late_; }

 private:
  struct Later {
    bool operator()(const std::pair<uint64_t, TimedRecord>& a,
                    const std::pair<uint64_t, TimedRecord>& b) const;
  };
  bool refill();

  TraceReader& reader_;
  uint64_t window_;
  std::function<void(const TraceChunk&)> other_;
  // (arrival order, record): arrival breaks ties so equal times stay in file order.
  std::priority_queue<std::pair<uint64_t, TimedRecord>,
                      std::vector<std::pair<uint64_t, TimedRecord>>, Later>
      heap_;
  uint64_t arrivals_ = 0, newest_ = 0, last_out_ = 0, late_ = 0;
  bool eof_ = false, any_out_ = false;
};

}  // namespace hk::analyze
