// Trace file writer and reader; see trace_file.h and hakmem/trace_format.h.
#include "trace/trace_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace hk::analyze {
namespace {

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

uint32_t crc_of(const void* p, size_t n) {
  return uint32_t(crc32(crc32(0L, Z_NULL, 0), static_cast<const Bytef*>(p), uInt(n)));
}

// META values may hold any byte (a command line can hold newlines), but the
// format is one key=value per line: escape backslash and newline.
std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      out += s[i] == 'n' ? '\n' : s[i];
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string encode_meta(const TraceMeta& meta) {
  std::string text;
  for (const auto& [k, v] : meta) text += escape(k) + '=' + escape(v) + '\n';
  return text;
}

// Keys cannot contain '=' unescaped, so the first '=' splits.
TraceMeta decode_meta(std::string_view text) {
  TraceMeta meta;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;  // not a key: skip
    meta[unescape(line.substr(0, eq))] = unescape(line.substr(eq + 1));
  }
  return meta;
}

// Reads exactly n bytes at off; returns bytes read (short only at EOF).
size_t read_at(int fd, void* buf, size_t n, uint64_t off, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, static_cast<char*>(buf) + got, n - got, off_t(off + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw TraceError(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
    }
    if (r == 0) break;
    got += size_t(r);
  }
  return got;
}

const char* chunk_name(uint16_t type) {
  switch (type) {
    case HK_CHUNK_META: return "META";
    case HK_CHUNK_EVENTS: return "EVENTS";
    case HK_CHUNK_SYSCALLS: return "SYSCALLS";
    case HK_CHUNK_RING: return "RING";
    case HK_CHUNK_FOOTER: return "FOOTER";
    default: return "unknown";
  }
}

}  // namespace

// ---------------------------------------------------------------- writer

TraceWriter::TraceWriter(const std::string& path, const TraceMeta& meta, Open how)
    : path_(path) {
  const int flags = how == Open::kCreateNew ? O_CREAT | O_EXCL | O_NOFOLLOW
                    : how == Open::kExisting ? O_NOFOLLOW
                                             : O_CREAT | O_TRUNC;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | flags, how == Open::kCreateNew ? 0600 : 0644);
  if (fd_ < 0)
    throw TraceError(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  hk_trace_file_header h{};
  std::memcpy(h.magic, HK_TRACE_MAGIC, sizeof h.magic);
  h.version = HK_TRACE_VERSION;
  h.header_size = sizeof h;
  h.event_size = sizeof(hk_event);
  h.sys_size = sizeof(hk_sys_record);
  h.created_realtime_ns = realtime_ns();
  write_all(&h, sizeof h);
  append_meta(meta);
}

TraceWriter::~TraceWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void TraceWriter::write_all(const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd_, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw TraceError(fmt::format("write to {} failed: {}", path_, std::strerror(errno)));
    }
    c += w;
    n -= size_t(w);
  }
}

void TraceWriter::write_chunk(uint16_t type, uint32_t source_pid, uint32_t count,
                              const void* payload, uint32_t len) {
  if (fd_ < 0) throw TraceError(fmt::format("{}: write after finish", path_));
  if (len > HK_TRACE_MAX_PAYLOAD)
    throw TraceError(fmt::format("{}: chunk of {} bytes exceeds the format limit", path_, len));
  hk_trace_chunk_header h{};
  h.magic = HK_CHUNK_MAGIC;
  h.type = type;
  h.payload_len = len;
  h.record_count = count;
  h.source_pid = source_pid;
  h.crc32 = crc_of(payload, len);
  h.seq = seq_;
  // One buffer, one write: a crash leaves either the whole chunk or a prefix.
  scratch_.resize(sizeof h + len);
  std::memcpy(scratch_.data(), &h, sizeof h);
  if (len) std::memcpy(scratch_.data() + sizeof h, payload, len);
  write_all(scratch_.data(), scratch_.size());
  ++seq_;
}

void TraceWriter::append_events(uint32_t pid, std::span<const hk_event> events) {
  // Split so that no chunk exceeds the payload limit, whatever the caller hands in.
  constexpr size_t kMax = HK_TRACE_MAX_PAYLOAD / sizeof(hk_event);
  while (!events.empty()) {
    size_t n = std::min(events.size(), kMax);
    // The ring's commit word means nothing outside the ring: store zero.
    std::vector<hk_event> copy(events.begin(), events.begin() + ptrdiff_t(n));
    for (auto& e : copy) e.commit = 0;
    write_chunk(HK_CHUNK_EVENTS, pid, uint32_t(n), copy.data(), uint32_t(n * sizeof(hk_event)));
    events_ += n;
    events = events.subspan(n);
  }
}

void TraceWriter::append_syscalls(std::span<const hk_sys_record> records) {
  constexpr size_t kMax = HK_TRACE_MAX_PAYLOAD / sizeof(hk_sys_record);
  while (!records.empty()) {
    size_t n = std::min(records.size(), kMax);
    write_chunk(HK_CHUNK_SYSCALLS, 0, uint32_t(n), records.data(),
                uint32_t(n * sizeof(hk_sys_record)));
    syscalls_ += n;
    records = records.subspan(n);
  }
}

void TraceWriter::append_ring(const hk_trace_ring_info& info) {
  write_chunk(HK_CHUNK_RING, info.pid, 1, &info, sizeof info);
}

void TraceWriter::append_meta(const TraceMeta& meta) {
  std::string text = encode_meta(meta);
  write_chunk(HK_CHUNK_META, 0, 0, text.data(), uint32_t(text.size()));
}

void TraceWriter::finish(hk_trace_footer footer) {
  footer.chunks = seq_;
  footer.events = events_;
  footer.syscalls = syscalls_;
  write_chunk(HK_CHUNK_FOOTER, 0, 1, &footer, sizeof footer);
  if (::fsync(fd_) != 0 && errno != EINVAL)
    throw TraceError(fmt::format("fsync of {} failed: {}", path_, std::strerror(errno)));
  ::close(fd_);
  fd_ = -1;
}

// ---------------------------------------------------------------- reader

TraceReader::TraceReader(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw TraceError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  struct stat st{};
  if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw TraceError(fmt::format("{}: not a regular file", path));
  }
  size_ = uint64_t(st.st_size);
  try {
    hk_trace_file_header h{};
    size_t got = read_at(fd_, &h, sizeof h, 0, path);
    // A prefix of the magic is a recording cut before its header was whole.
    if (std::memcmp(h.magic, HK_TRACE_MAGIC, std::min(got, sizeof h.magic)) != 0)
      throw TraceError(fmt::format("{}: not a hakmem trace (bad magic)", path));
    if (got < sizeof h) {
      stop_truncated(fmt::format("ends inside the file header ({} of {} bytes)", got, sizeof h));
      return;
    }
    if (h.version != HK_TRACE_VERSION)
      throw TraceError(fmt::format("{}: trace format version {} is not supported (this build reads {})",
                                   path, h.version, HK_TRACE_VERSION));
    if (h.header_size < sizeof h || h.header_size > size_)
      throw TraceError(fmt::format("{}: bad header size {}", path, h.header_size));
    if (h.event_size != sizeof(hk_event) || h.sys_size != sizeof(hk_sys_record))
      throw TraceError(fmt::format("{}: record sizes {}/{} differ from this build's {}/{}", path,
                                   h.event_size, h.sys_size, sizeof(hk_event),
                                   sizeof(hk_sys_record)));
    offset_ = h.header_size;
    // The first chunk is META by contract; read it now so meta() is useful.
    TraceChunk first;
    if (!next(first)) {
      if (!truncated_) throw TraceError(fmt::format("{}: no chunks", path));
      // A file cut inside its first chunk holds nothing usable yet still
      // is a truncated trace, not a corrupt one.
    } else if (first.type != HK_CHUNK_META) {
      throw TraceError(fmt::format("{}: first chunk is {}, not META", path, chunk_name(first.type)));
    }
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

TraceReader::~TraceReader() {
  if (fd_ >= 0) ::close(fd_);
}

void TraceReader::stop_truncated(std::string why) {
  done_ = true;
  truncated_ = true;
  reason_ = std::move(why);
}

bool TraceReader::next(TraceChunk& out) {
  if (done_) return false;
  if (offset_ == size_) {
    stop_truncated(fmt::format("ends after {} chunks, at byte {}, without a footer", seq_, offset_));
    return false;
  }
  hk_trace_chunk_header h{};
  if (size_ - offset_ < sizeof h) {
    stop_truncated(fmt::format("ends inside the header of chunk {}, at byte {}", seq_, offset_));
    return false;
  }
  read_at(fd_, &h, sizeof h, offset_, path_);
  const uint64_t at = offset_;
  auto corrupt = [&](const std::string& what) {
    return TraceError(fmt::format("{}: corrupt chunk {} at offset {}: {}", path_, seq_, at, what));
  };
  if (h.magic != HK_CHUNK_MAGIC) throw corrupt("bad chunk magic");
  if (h.seq != seq_) throw corrupt(fmt::format("sequence number {} out of order", h.seq));
  if (h.payload_len > HK_TRACE_MAX_PAYLOAD)
    throw corrupt(fmt::format("payload length {} exceeds the limit", h.payload_len));
  uint64_t rec_size = 0;
  switch (h.type) {
    case HK_CHUNK_EVENTS: rec_size = sizeof(hk_event); break;
    case HK_CHUNK_SYSCALLS: rec_size = sizeof(hk_sys_record); break;
    case HK_CHUNK_RING: rec_size = sizeof(hk_trace_ring_info); break;
    case HK_CHUNK_FOOTER: rec_size = sizeof(hk_trace_footer); break;
    default: break;  // META is text; unknown types are skipped by length
  }
  if (rec_size && uint64_t(h.record_count) * rec_size != h.payload_len)
    throw corrupt(fmt::format("{} records of {} bytes do not fill {} payload bytes",
                              h.record_count, rec_size, h.payload_len));
  if ((h.type == HK_CHUNK_RING || h.type == HK_CHUNK_FOOTER) && h.record_count != 1)
    throw corrupt(fmt::format("{} chunk holds {} records", chunk_name(h.type), h.record_count));
  if (size_ - offset_ - sizeof h < h.payload_len) {
    stop_truncated(fmt::format("ends inside chunk {} at byte {} ({} of {} payload bytes present)",
                               seq_, offset_, size_ - offset_ - sizeof h, h.payload_len));
    return false;
  }
  buf_.resize(h.payload_len);
  if (read_at(fd_, buf_.data(), h.payload_len, offset_ + sizeof h, path_) < h.payload_len) {
    stop_truncated(fmt::format("shrank while reading chunk {}", seq_));
    return false;
  }
  if (crc_of(buf_.data(), buf_.size()) != h.crc32) throw corrupt("CRC mismatch");

  offset_ += sizeof h + h.payload_len;
  ++seq_;
  out = TraceChunk{};
  out.type = h.type;
  out.source_pid = h.source_pid;
  switch (h.type) {
    case HK_CHUNK_META:
      out.meta = decode_meta(std::string_view(reinterpret_cast<const char*>(buf_.data()), buf_.size()));
      for (const auto& [k, v] : out.meta) meta_[k] = v;
      break;
    case HK_CHUNK_EVENTS:
      out.events = {reinterpret_cast<const hk_event*>(buf_.data()), h.record_count};
      events_ += h.record_count;
      break;
    case HK_CHUNK_SYSCALLS:
      out.syscalls = {reinterpret_cast<const hk_sys_record*>(buf_.data()), h.record_count};
      syscalls_ += h.record_count;
      break;
    case HK_CHUNK_RING: {
      hk_trace_ring_info ri;
      std::memcpy(&ri, buf_.data(), sizeof ri);
      out.ring = ri;
      break;
    }
    case HK_CHUNK_FOOTER: {
      hk_trace_footer f;
      std::memcpy(&f, buf_.data(), sizeof f);
      // The footer restates what came before; a mismatch means chunks were
      // lost or spliced, which no crash can cause.
      if (f.chunks != seq_ - 1 || f.events != events_ || f.syscalls != syscalls_)
        throw corrupt(fmt::format("footer counts {} chunks/{} events/{} syscalls, file holds {}/{}/{}",
                                  f.chunks, f.events, f.syscalls, seq_ - 1, events_, syscalls_));
      out.footer = f;
      done_ = true;  // bytes after the footer are not part of the recording
      break;
    }
    default: break;
  }
  return true;
}

}  // namespace hk::analyze
