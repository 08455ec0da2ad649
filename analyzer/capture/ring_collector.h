// RingCollector: finds, drains and retires the event rings of a recording.
//
// Contract: used by `record` on its one thread. Every process of the traced
// tree that runs libhakmem.so creates its own ring file in one private
// directory (HAKMEM_RING=<dir>/ring, see hakmem/ring_format.h). scan()
// attaches to rings that appeared, poll() copies out what was committed, and
// retire() drains the rings whose writer is gone (exited, died, or exec'd:
// RingReader::writer_alive()) and deletes their files, after freeing their
// pages (a writer still alive keeps its mapping). Records
// reach the sink in batches of at most `batch` records, each batch as soon
// as it is full or its oldest record has waited `max_age_ns`; nothing read is
// ever held back past finish().
#pragma once

#include "trace/ring_reader.h"

#include <hakmem/events.h>
#include <hakmem/trace_format.h>

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace hk::analyze {

class RingSink {
 public:
  virtual ~RingSink() = default;
  virtual void ring_opened(const hk_trace_ring_info& info) = 0;
  virtual void ring_events(uint32_t pid, std::span<const hk_event> events) = 0;
  virtual void ring_closed(const hk_trace_ring_info& info) = 0;
  // A ring file that could not be used; `why` is one line.
  virtual void ring_refused(const std::string& path, const std::string& why) = 0;
};

class RingCollector {
 public:
  // Ring files must be owned by `owner` (the uid the command runs as): a
  // root recorder must not map a file someone else slipped into the dir.
  RingCollector(std::string dir, uid_t owner, size_t batch, uint64_t max_age_ns);
  ~RingCollector();
  RingCollector(const RingCollector&) = delete;
  RingCollector& operator=(const RingCollector&) = delete;

  void scan(RingSink& sink, uint64_t now_ns);
  // Returns the number of records read.
  size_t poll(RingSink& sink, uint64_t now_ns);
  // The largest share of a ring's capacity that the last poll() read from
  // one ring: how close the busiest writer came to filling its ring since
  // the poll before.
  double fullest_share() const { return fullest_share_; }
  // Drains and closes rings whose writer is gone. Returns how many.
  size_t retire(RingSink& sink);
  // The recording is over: drain every ring, close it, and remove the files
  // and the directory.
  void finish(RingSink& sink);

  size_t open_rings() const { return rings_.size(); }

 private:
  struct Ring;
  void close_ring(RingSink& sink, Ring& r);
  // Hands over what the ring gave, reports it closed and removes its file;
  // its name is never opened again. The caller forgets the ring.
  void end_ring(RingSink& sink, Ring& r);
  void flush(RingSink& sink, Ring& r);

  std::string dir_;
  uid_t owner_;
  size_t batch_;
  uint64_t max_age_ns_;
  std::map<std::string, std::unique_ptr<Ring>> rings_;  // by file name
  std::map<std::string, uint64_t> pending_;  // unreadable yet: name -> first seen
  std::set<std::string> done_;               // retired or refused names
  double fullest_share_ = 0;
};

}  // namespace hk::analyze
