// Trace file writer and reader (format: include/hakmem/trace_format.h).
//
// Contract: TraceWriter is used by `record` on one thread; each append_*
// writes one whole chunk with one write(2), so a crash leaves a file that
// reads up to its last whole chunk. TraceReader streams chunks in file order
// with bounded memory (one chunk at a time) and validates every length,
// count and CRC before use. A file that ends early (no footer, a partial
// chunk, even a partial file header) reads normally up to its last whole
// chunk with truncated() set: that is all a crash, a kill or ^C can do to
// it. Anything else (bad magic, length, count, CRC, chunk order, footer
// counts) is damage no crash causes and throws TraceError with a one-line
// message naming the chunk and offset.
#pragma once

#include <hakmem/events.h>
#include <hakmem/syscall_record.h>
#include <hakmem/trace_format.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace hk::analyze {

struct TraceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using TraceMeta = std::map<std::string, std::string>;

class TraceWriter {
 public:
  // How path is opened. `record` never follows a link nor truncates what it
  // did not make: kCreateNew is O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 (a file
  // or link already there, planted or not, is an error); kExisting writes
  // into something already there that is not a link (a FIFO, a device).
  // kReplace creates or truncates, for tools and tests writing their own
  // scratch files.
  enum class Open { kReplace, kCreateNew, kExisting };
  // Opens path and writes the file header and the META chunk.
  TraceWriter(const std::string& path, const TraceMeta& meta,
              Open how = Open::kReplace);  // throws
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  void append_events(uint32_t pid, std::span<const hk_event> events);
  void append_syscalls(std::span<const hk_sys_record> records);
  void append_ring(const hk_trace_ring_info& info);
  void append_meta(const TraceMeta& meta);  // e.g. config learned later
  // Writes the footer and closes. Counters in `footer` other than chunks,
  // events and syscalls are taken from the caller.
  void finish(hk_trace_footer footer);

  uint64_t events_written() const { return events_; }
  uint64_t syscalls_written() const { return syscalls_; }

 private:
  void write_chunk(uint16_t type, uint32_t source_pid, uint32_t count,
                   const void* payload, uint32_t len);
  void write_all(const void* p, size_t n);
  int fd_ = -1;
  uint64_t seq_ = 0, events_ = 0, syscalls_ = 0;
  std::string path_;
  std::vector<unsigned char> scratch_;  // header + payload of one chunk
};

// One chunk as handed out by TraceReader. Spans point into the reader's
// buffer and stay valid until the next call to next().
struct TraceChunk {
  uint16_t type = 0;
  uint32_t source_pid = 0;
  std::span<const hk_event> events;
  std::span<const hk_sys_record> syscalls;
  TraceMeta meta;                              // HK_CHUNK_META
  std::optional<hk_trace_ring_info> ring;      // HK_CHUNK_RING
  std::optional<hk_trace_footer> footer;       // HK_CHUNK_FOOTER
};

class TraceReader {
 public:
  explicit TraceReader(const std::string& path);  // throws TraceError
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  // Metadata from the META chunks read so far (the first is read on open).
  const TraceMeta& meta() const { return meta_; }
  // Next chunk, or false at the end of the usable file. Throws TraceError.
  bool next(TraceChunk& out);
  // True once next() returned false because the file ended without a footer;
  // truncation_reason() says where, in one line. Damage throws instead.
  bool truncated() const { return truncated_; }
  const std::string& truncation_reason() const { return reason_; }
  // Bytes read so far, of size(): how far a long read has come.
  uint64_t offset() const { return offset_; }
  uint64_t size() const { return size_; }

 private:
  void stop_truncated(std::string why);
  int fd_ = -1;
  uint64_t size_ = 0, offset_ = 0, seq_ = 0;
  uint64_t events_ = 0, syscalls_ = 0;  // checked against the footer
  bool done_ = false, truncated_ = false;
  std::string reason_;
  TraceMeta meta_;
  std::vector<unsigned char> buf_;
  std::string path_;
};

}  // namespace hk::analyze
