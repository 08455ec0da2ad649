// Event ring reader. Protocol: include/hakmem/ring_format.h.
#include "trace/ring_reader.h"

#include <hakmem/ring_format.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace hk::analyze {

namespace {

uint64_t load_acquire(const uint64_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
uint64_t load_relaxed(const uint64_t* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Checks a header copy against the file it came from; the slots are mapped
// only after this passes.
void validate_header(const hk_ring_header& h, uint64_t file_size) {
  if (h.magic == 0) throw RingError("not initialised (magic is zero: writer still starting?)");
  if (h.magic != HK_RING_MAGIC) throw RingError("not a hakmem event ring (bad magic)");
  if (h.version != HK_RING_VERSION)
    throw RingError(fmt::format("ring version {} is not supported (want {})", h.version,
                                HK_RING_VERSION));
  if (h.header_size != HK_RING_HEADER_SIZE)
    throw RingError(fmt::format("bad header size {}", h.header_size));
  if (h.record_size != HK_RING_RECORD_SIZE)
    throw RingError(fmt::format("bad record size {}", h.record_size));
  if (h.mode != HK_RING_MODE_STREAM && h.mode != HK_RING_MODE_FLIGHT)
    throw RingError(fmt::format("bad ring mode {}", h.mode));
  if (!is_pow2(h.capacity) || h.capacity < HK_RING_MIN_CAPACITY ||
      h.capacity > HK_RING_MAX_CAPACITY)
    throw RingError(fmt::format("bad capacity {}", h.capacity));
  const uint64_t want = HK_RING_HEADER_SIZE + h.capacity * HK_RING_RECORD_SIZE;
  if (file_size != want)
    throw RingError(fmt::format("file is {} bytes, header says {}", file_size, want));
  // Version 1 differs from 2 only in records that 2 sums (events.h); the
  // analysis counts both forms, so an older libhakmem's ring still reads.
  if (h.events_version < 1 || h.events_version > HK_EVENTS_VERSION)
    throw RingError(fmt::format("event version {} is not supported (want 1 to {})", h.events_version,
                                HK_EVENTS_VERSION));
}

}  // namespace

struct RingReader::Impl {
  int fd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  void* map = MAP_FAILED;
  size_t map_len = 0;
  hk_ring_header* hdr = nullptr;
  hk_event* slots = nullptr;
  uint64_t mask = 0;
  RingInfo info;
  uint64_t pos = 0;  // next ticket to read
  uint64_t read = 0, overwritten = 0, torn = 0;
  std::chrono::milliseconds stall_timeout{2000};
  uint64_t stall_pos = UINT64_MAX;
  std::chrono::steady_clock::time_point stall_since;

  ~Impl() {
    if (map != MAP_FAILED) munmap(map, map_len);
    if (fd >= 0) close(fd);
  }

  bool stream() const { return info.mode == HK_RING_MODE_STREAM; }

  uint64_t head() const {
    const uint64_t h = load_acquire(&hdr->head);
    if (h > HK_RING_MAX_TICKET + 1) throw RingError(fmt::format("corrupt head {}", h));
    return h;
  }

  void publish() {
    if (stream()) __atomic_store_n(&hdr->tail, pos, __ATOMIC_RELEASE);
  }

  // Gives up on ticket pos, which never got committed.
  void skip_unfinished() {
    torn++;
    pos++;
    stall_pos = UINT64_MAX;
  }

  // Gives up on the BUSY slot at pos and retires it, so that a stalled
  // writer can never publish into it later (ring_format.h). False when the
  // writer finished the slot meanwhile.
  bool retire(uint64_t* commit, uint64_t seen) {
    if (!__atomic_compare_exchange_n(commit, &seen, HK_RING_COMMIT(pos, HK_SLOT_ABANDONED), false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
      return false;
    skip_unfinished();
    return true;
  }

  bool stalled_too_long() {
    const auto now = std::chrono::steady_clock::now();
    if (stall_pos != pos) {
      stall_pos = pos;
      stall_since = now;
      return false;
    }
    return now - stall_since >= stall_timeout;
  }

  size_t advance(std::vector<hk_event>& out, bool writer_dead) {
    const size_t before = out.size();
    const uint64_t h = head();
    const uint64_t cap = mask + 1;
    if (h < pos) throw RingError(fmt::format("corrupt ring: head {} behind read position {}", h, pos));
    if (h - pos > cap) {
      if (stream())
        throw RingError(fmt::format("corrupt ring: head {} more than a ring ahead of tail {}", h, pos));
      overwritten += h - cap - pos;
      pos = h - cap;
    }
    // At most `cap` iterations: the loop is bounded by the head snapshot.
    while (pos < h) {
      // Free space for stream writers as we go, not only at the end.
      if (!writer_dead && (pos & (cap / 8 - 1)) == 0) publish();
      hk_event* slot = &slots[pos & mask];
      uint64_t* commit = &slot->commit;
      const uint64_t c1 = load_acquire(commit);
      const uint32_t state = HK_RING_COMMIT_STATE(c1);
      const uint64_t ticket = c1 ? HK_RING_COMMIT_TICKET(c1) : 0;
      if (c1 != 0 && ticket > pos) {
        // A later lap already reused the slot.
        if (stream())
          throw RingError(fmt::format("corrupt ring: slot holds ticket {} ahead of {}", ticket, pos));
        overwritten++;
        pos++;
        continue;
      }
      if (c1 == HK_RING_COMMIT(pos, HK_SLOT_COMMITTED)) {
        hk_event ev;
        const uint64_t* src = reinterpret_cast<const uint64_t*>(slot);
        uint64_t words[8];
        words[0] = 0;
        for (int i = 1; i < 8; i++) words[i] = load_relaxed(&src[i]);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (load_relaxed(commit) != c1) {
          if (stream()) throw RingError("corrupt ring: a consumed slot changed while read");
          overwritten++;
          pos++;
          continue;
        }
        static_assert(sizeof words == sizeof ev);
        std::memcpy(&ev, words, sizeof ev);
        out.push_back(ev);
        read++;
        pos++;
        continue;
      }
      if (state == HK_SLOT_ABANDONED) {
        // Retired: by a reader that gave up on this ticket, or earlier, so
        // that this ticket's writer had to give up.
        skip_unfinished();
        continue;
      }
      // Unfinished: claimed but not committed yet (BUSY), or this ticket's
      // writer has not reached the slot (it still holds an older lap).
      if (writer_dead) {
        skip_unfinished();
        continue;
      }
      if (!stalled_too_long()) break;
      if (state == HK_SLOT_BUSY) {
        if (!retire(commit, c1)) break;  // finished meanwhile: read it next time
      } else {
        skip_unfinished();
      }
    }
    // A dead ring is left as found, so it can be dumped again; a live one
    // learns how far the reader got, which frees room for stream writers.
    if (!writer_dead) publish();
    return out.size() - before;
  }

  // Does the writer still map this file? Catches exit, death, exec and a
  // reused pid alike.
  bool writer_maps_ring() const {
    if (kill(pid_t(info.pid), 0) != 0 && errno == ESRCH) return false;
    std::ifstream maps(fmt::format("/proc/{}/maps", info.pid));
    if (!maps) return true;  // cannot look: assume it still writes
    std::string line;
    while (std::getline(maps, line)) {
      std::istringstream ls(line);
      std::string range, perms, offset, devstr;
      unsigned long inode = 0;
      if (!(ls >> range >> perms >> offset >> devstr >> inode)) continue;
      if (inode != ino) continue;
      unsigned maj = 0, min = 0;
      if (std::sscanf(devstr.c_str(), "%x:%x", &maj, &min) == 2 && makedev(maj, min) == dev)
        return true;
    }
    return false;
  }
};

RingReader::RingReader(const std::string& path, std::optional<uid_t> owner) {
  auto owned = std::make_unique<Impl>();
  try {
    Impl& m = *owned;
    // The recorder may run as root on a directory another user owns: never
    // follow a link planted there to some other file.
    m.fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (m.fd < 0) throw RingError(std::strerror(errno));
    struct stat sb;
    if (fstat(m.fd, &sb) != 0) throw RingError(std::strerror(errno));
    if (!S_ISREG(sb.st_mode)) throw RingError("not a regular file");
    if (owner && sb.st_uid != *owner)
      throw RingError(fmt::format("owned by uid {}, not by uid {}", sb.st_uid, *owner));
    m.dev = sb.st_dev;
    m.ino = sb.st_ino;
    const uint64_t size = uint64_t(sb.st_size);
    if (size < HK_RING_HEADER_SIZE)
      throw RingError(fmt::format("{} bytes is too short for a ring header", size));
    hk_ring_header h;
    if (pread(m.fd, &h, sizeof h, 0) != ssize_t(sizeof h))
      throw RingError("cannot read the ring header");
    validate_header(h, size);
    m.map_len = size_t(size);
    m.map = mmap(nullptr, m.map_len, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, 0);
    if (m.map == MAP_FAILED) throw RingError(fmt::format("mmap: {}", std::strerror(errno)));
    m.hdr = static_cast<hk_ring_header*>(m.map);
    m.slots = reinterpret_cast<hk_event*>(static_cast<char*>(m.map) + HK_RING_HEADER_SIZE);
    // Identity fields come from the validated copy: the mapping may change.
    m.mask = h.capacity - 1;
    m.info = RingInfo{h.version,       h.events_version, h.pid,
                      h.ppid,          h.mode,           h.capacity,
                      h.start_mono_ns, h.start_realtime_ns};
    const uint64_t head = m.head();
    const uint64_t tail = load_acquire(&m.hdr->tail);
    if (tail > head)
      throw RingError(fmt::format("corrupt ring: tail {} beyond head {}", tail, head));
    if (m.stream()) {
      if (head - tail > h.capacity)
        throw RingError(
            fmt::format("corrupt ring: head {} more than a ring ahead of tail {}", head, tail));
      m.pos = tail;
    } else {
      m.pos = std::max(tail, head > h.capacity ? head - h.capacity : 0);
      // The writer lapped these before we came: they count as lost like
      // any later overwrite (head = read + overwritten + torn + unread).
      m.overwritten = m.pos - tail;
    }
  } catch (const RingError& e) {
    throw RingError(fmt::format("{}: {}", path, e.what()));
  }
  impl_ = owned.release();
}

RingReader::~RingReader() { delete impl_; }
RingReader::RingReader(RingReader&& o) noexcept : impl_(std::exchange(o.impl_, nullptr)) {}
RingReader& RingReader::operator=(RingReader&& o) noexcept {
  std::swap(impl_, o.impl_);
  return *this;
}

const RingInfo& RingReader::info() const { return impl_->info; }
size_t RingReader::poll(std::vector<hk_event>& out) { return impl_->advance(out, false); }
size_t RingReader::drain_dead(std::vector<hk_event>& out) { return impl_->advance(out, true); }
void RingReader::set_stall_timeout(std::chrono::milliseconds t) { impl_->stall_timeout = t; }
bool RingReader::writer_alive() const { return impl_->writer_maps_ring(); }
bool RingReader::writer_exited_cleanly() const {
  return __atomic_load_n(&impl_->hdr->writer_state, __ATOMIC_ACQUIRE) & HK_RING_STATE_EXITED;
}
uint64_t RingReader::records_read() const { return impl_->read; }
uint64_t RingReader::dropped() const { return load_relaxed(&impl_->hdr->dropped); }
uint64_t RingReader::overwritten() const { return impl_->overwritten; }
uint64_t RingReader::torn() const { return impl_->torn; }

}  // namespace hk::analyze
