// RingCollector: ring discovery, draining and retirement. See ring_collector.h.
#include "capture/ring_collector.h"

#include <algorithm>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>

namespace hk::analyze {
namespace {

// A writer creates its file, sizes it, then publishes the header; a file
// still unreadable after this long belongs to a writer that died in between.
constexpr uint64_t kHeaderWaitNs = 1'000'000'000;

}  // namespace

struct RingCollector::Ring {
  std::string name;
  RingReader reader;
  std::vector<hk_event> pending;
  uint64_t pending_since = 0;

  Ring(std::string n, const std::string& path, uid_t owner)
      : name(std::move(n)), reader(path, owner) {}

  hk_trace_ring_info info(uint32_t state) const {
    const RingInfo& ri = reader.info();
    hk_trace_ring_info out{};
    out.pid = ri.pid;
    out.ppid = ri.ppid;
    out.state = state;
    out.mode = ri.mode;
    out.capacity = ri.capacity;
    out.records_read = reader.records_read();
    out.dropped = reader.dropped();
    out.overwritten = reader.overwritten();
    out.torn = reader.torn();
    out.start_mono_ns = ri.start_mono_ns;
    return out;
  }
};

RingCollector::RingCollector(std::string dir, uid_t owner, size_t batch, uint64_t max_age_ns)
    : dir_(std::move(dir)), owner_(owner), batch_(batch), max_age_ns_(max_age_ns) {}

RingCollector::~RingCollector() = default;

void RingCollector::scan(RingSink& sink, uint64_t now_ns) {
  DIR* d = opendir(dir_.c_str());
  if (!d) return;  // the directory is ours; it only vanishes at finish()
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || rings_.count(name) || done_.count(name)) continue;
    names.push_back(std::move(name));
  }
  closedir(d);
  for (auto& name : names) {
    std::string path = dir_ + "/" + name;
    struct stat st{};
    if (lstat(path.c_str(), &st) != 0) continue;
    if (!S_ISREG(st.st_mode) || st.st_uid != owner_) {
      done_.insert(name);
      sink.ring_refused(path, fmt::format("not a regular file owned by uid {}", owner_));
      continue;
    }
    try {
      auto ring = std::make_unique<Ring>(name, path, owner_);
      pending_.erase(name);
      sink.ring_opened(ring->info(1));
      rings_.emplace(name, std::move(ring));
    } catch (const RingError& e) {
      auto [it, fresh] = pending_.try_emplace(name, now_ns);
      if (!fresh && now_ns - it->second >= kHeaderWaitNs) {
        pending_.erase(it);
        done_.insert(name);
        sink.ring_refused(path, e.what());
      }
    }
  }
}

void RingCollector::flush(RingSink& sink, Ring& r) {
  std::span<const hk_event> all(r.pending);
  for (size_t i = 0; i < all.size(); i += batch_)
    sink.ring_events(r.reader.info().pid, all.subspan(i, std::min(batch_, all.size() - i)));
  r.pending.clear();
  r.pending_since = 0;
}

size_t RingCollector::poll(RingSink& sink, uint64_t now_ns) {
  size_t total = 0;
  fullest_share_ = 0;
  for (auto it = rings_.begin(); it != rings_.end();) {
    Ring& r = *it->second;
    try {
      const size_t n = r.reader.poll(r.pending);
      total += n;
      fullest_share_ = std::max(fullest_share_, double(n) / double(r.reader.info().capacity));
    } catch (const RingError& e) {
      // A corrupt ring cannot be trusted further; keep what it gave so far.
      sink.ring_refused(dir_ + "/" + r.name, e.what());
      end_ring(sink, r);
      it = rings_.erase(it);
      continue;
    }
    if (!r.pending.empty()) {
      if (!r.pending_since) r.pending_since = now_ns;
      if (r.pending.size() >= batch_ || now_ns - r.pending_since >= max_age_ns_) flush(sink, r);
    }
    ++it;
  }
  return total;
}

void RingCollector::close_ring(RingSink& sink, Ring& r) {
  try {
    r.reader.drain_dead(r.pending);
  } catch (const RingError& e) {
    sink.ring_refused(dir_ + "/" + r.name, e.what());
  }
  end_ring(sink, r);
}

void RingCollector::end_ring(RingSink& sink, Ring& r) {
  flush(sink, r);
  sink.ring_closed(r.info(2));
  const std::string path = dir_ + "/" + r.name;
  // A writer that lives on (detached by `attach`, or left running by a
  // stopped `record`) keeps the file mapped, and with it every page it
  // touched. Punching them out frees them now; the file keeps its size, so
  // a late write into it faults in a fresh zero page, never SIGBUS.
  if (const int fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC); fd >= 0) {
    struct stat st{};
    if (fstat(fd, &st) == 0 && st.st_size > 0)
      ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, st.st_size);
    ::close(fd);
  }
  ::unlink(path.c_str());
  done_.insert(r.name);
}

size_t RingCollector::retire(RingSink& sink) {
  size_t n = 0;
  for (auto it = rings_.begin(); it != rings_.end();) {
    if (!it->second->reader.writer_alive()) {
      close_ring(sink, *it->second);
      it = rings_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

void RingCollector::finish(RingSink& sink) {
  // Last chance for rings that appeared since the last scan; a file still
  // without a header now never gets one.
  pending_.clear();
  scan(sink, 0);
  for (auto& [name, r] : rings_) close_ring(sink, *r);
  rings_.clear();
  for (const auto& [name, first_seen] : pending_) {
    done_.insert(name);
    sink.ring_refused(dir_ + "/" + name, "never became a readable ring");
  }
  pending_.clear();
  if (DIR* d = opendir(dir_.c_str())) {
    while (dirent* e = readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
        ::unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
  }
  ::rmdir(dir_.c_str());
}

}  // namespace hk::analyze
