// Event ring reader: the analyzer's side of the shared-memory event ring.
//
// Contract: one RingReader per ring file, used by one thread. It maps the
// ring read-write (it publishes its read position for stream mode) and
// treats every byte as hostile: the header is validated on open and every
// slot before its record is handed out, so a corrupt or truncated ring gives
// a RingError with a one-line message, never a crash. Records come out once
// each, in the order they were claimed, and a torn (half-written) record is
// never returned.
#pragma once

#include <hakmem/events.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace hk::analyze {

struct RingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RingInfo {
  uint32_t version = 0;
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint32_t mode = 0;  // ring_format.h mode
  uint64_t capacity = 0;
  uint64_t start_mono_ns = 0;
  uint64_t start_realtime_ns = 0;
};

class RingReader {
 public:
  explicit RingReader(const std::string& path);  // throws RingError
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;
  RingReader(RingReader&&) noexcept;
  RingReader& operator=(RingReader&&) noexcept;

  const RingInfo& info() const;

  // Appends every record committed since the last call. Never blocks: a slot
  // a live writer is still filling stops this call and is retried next time.
  size_t poll(std::vector<hk_event>& out);

  // For a ring whose writer process is gone: appends everything left,
  // skipping slots that were claimed but never committed (counted in torn()).
  size_t drain_dead(std::vector<hk_event>& out);

  uint64_t records_read() const;
  uint64_t dropped() const;      // writer refused (stream mode, full ring)
  uint64_t overwritten() const;  // lost to overwrite (flight mode)
  uint64_t torn() const;         // claimed, never committed

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace hk::analyze
