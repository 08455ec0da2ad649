// Event ring reader: the analyzer's side of the shared-memory event ring.
//
// Contract: one RingReader per ring file, used by one thread, and one reader
// per live ring at a time (ring_format.h). It maps the ring read-write: while
// the writer lives it publishes its read position (stream mode) and retires
// slots whose writer stalled. It treats every byte as hostile: the header is validated
// against the file size before the slots are mapped, the counters and every
// slot's commit word are validated before a record is handed out, so a
// corrupt ring gives a RingError with a one-line message, never a crash.
// (One limit: another process shrinking the file under a live mapping raises
// SIGBUS; rings live in a private 0600 file so only their writer could.)
// Records come out once each, in the order they were claimed, with `commit`
// zeroed as in a trace file; a torn (half-written) record is never returned.
#pragma once

#include <hakmem/events.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/types.h>

namespace hk::analyze {

struct RingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RingInfo {
  uint32_t version = 0;
  uint32_t events_version = 0;
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint32_t mode = 0;  // ring_format.h mode
  uint64_t capacity = 0;
  uint64_t start_mono_ns = 0;
  uint64_t start_realtime_ns = 0;
};

class RingReader {
 public:
  // With `owner`, a file that another uid owns is refused, checked on the
  // opened file itself (a name checked before open can be swapped after).
  explicit RingReader(const std::string& path,
                      std::optional<uid_t> owner = std::nullopt);  // throws RingError
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;
  RingReader(RingReader&&) noexcept;
  RingReader& operator=(RingReader&&) noexcept;

  const RingInfo& info() const;

  // Appends every record committed since the last call. Never blocks: a slot
  // a live writer is still filling stops this call and is retried next time,
  // unless it has stayed unfinished longer than the stall timeout; then the
  // writer is taken for dead, the slot is retired and counted in torn().
  // Throws RingError when the ring turns out corrupt.
  size_t poll(std::vector<hk_event>& out);

  // For a ring whose writer process is gone: appends everything left,
  // skipping slots that were claimed but never committed (counted in torn()).
  // Writes nothing to the ring, so a dead ring can be read again.
  size_t drain_dead(std::vector<hk_event>& out);

  // How long poll() waits on one unfinished slot (default 2 s).
  void set_stall_timeout(std::chrono::milliseconds t);

  // False once the writer process is gone or no longer maps this ring (it
  // died, exited or exec'd); then drain_dead() gives the final records.
  bool writer_alive() const;
  // The writer reached exit() (ring_format.h HK_RING_STATE_EXITED).
  bool writer_exited_cleanly() const;

  uint64_t records_read() const;
  uint64_t dropped() const;      // writer refused (stream mode full ring, retired slot)
  uint64_t overwritten() const;  // lost to overwrite (flight mode)
  uint64_t torn() const;         // claimed, never committed

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace hk::analyze
