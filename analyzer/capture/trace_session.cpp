// TraceSession, TraceOutput and the capture summary. See trace_session.h.
#include "capture/trace_session.h"

#include "analysis/syscall_table.h"
#include "trace/event_names.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace hk::analyze {
namespace {

// How often, at most, a live traced process's /proc/<pid>/maps is read
// again: a library loaded later still gets named, at the cost of one read
// per process per period.
constexpr uint64_t kMapsEveryNs = 200'000'000;

void say(const std::string& tool, const std::string& line) {
  fmt::print(stderr, "hakmem-analyze {}: {}\n", tool, line);
}

// Keeps the previous recording as FILE.old, as perf does with perf.data.
// rename(2) moves names, never what a link points to.
void keep_old(const std::string& path) {
  struct stat st{};
  if (lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    std::rename(path.c_str(), (path + ".old").c_str());
}

}  // namespace

uint64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

TraceMeta base_meta(uint64_t start_mono, uint64_t start_real) {
  TraceMeta m;
  char host[HOST_NAME_MAX + 1] = {};
  gethostname(host, sizeof host - 1);
  m["host"] = host;
  struct utsname u{};
  if (uname(&u) == 0)
    m["kernel"] = fmt::format("{} {} {} {}", u.sysname, u.release, u.version, u.machine);
  m["clock"] = "CLOCK_MONOTONIC";
  m["start_mono_ns"] = std::to_string(start_mono);
  m["start_realtime_ns"] = std::to_string(start_real);
  m["hakmem_version"] = HAKMEM_VERSION;
  return m;
}

void probe_meta(TraceMeta& m, bool bpf, const std::string& attach_kind, bool user_stacks, bool faults) {
  // A flag as one char: assigning "1"/"0" literals here trips GCC 12's
  // -Wrestrict false positive (GCC bug 105329) once inlined.
  auto flag = [](bool on) { return std::string(1, on ? '1' : '0'); };
  m["bpf"] = flag(bpf);
  if (!bpf) return;
  m["bpf.attach"] = attach_kind;
  m["bpf.user_stacks"] = flag(user_stacks);
  m["bpf.faults"] = flag(faults);
}

// ---------------------------------------------------------------- output

bool TraceOutput::check(const std::string& path, std::string* why) {
  target_ = path;
  // The capture may run as root in a directory others can write: a link at
  // the path would have the trace written, or FILE.old renamed, wherever it
  // points. Refused before anything runs; the link is left alone.
  struct stat st{};
  const bool exists = lstat(path.c_str(), &st) == 0;
  if (exists && S_ISLNK(st.st_mode)) {
    *why = fmt::format("refusing to write the trace through the symbolic link {}; remove it or name a plain path",
                       path);
    return false;
  }
  in_place_ = exists && !S_ISREG(st.st_mode);
  path_ = in_place_ ? path : fmt::format("{}.{}.partial", path, getpid());
  return true;
}

TraceWriter& TraceOutput::open(const TraceMeta& meta, std::optional<std::pair<uid_t, gid_t>> owner,
                               const std::string& tool) {
  // The temporary name is created new (O_EXCL, O_NOFOLLOW, 0600): whatever
  // was planted there is refused, never followed or truncated.
  writer_ = std::make_unique<TraceWriter>(path_, meta,
                                          in_place_ ? TraceWriter::Open::kExisting : TraceWriter::Open::kCreateNew);
  // The trace belongs to whoever asked for it, not to sudo's root.
  if (owner && chown(path_.c_str(), owner->first, owner->second) != 0)
    say(tool, fmt::format("cannot hand {} to uid {}: {}", path_, owner->first, std::strerror(errno)));
  return *writer_;
}

void TraceOutput::publish(const std::string& tool) {
  if (in_place_ || path_ == target_) return;
  keep_old(target_);
  if (std::rename(path_.c_str(), target_.c_str()) == 0)
    path_ = target_;
  else
    say(tool, fmt::format("cannot rename {} to {}: {}; recording into the former", path_, target_,
                          std::strerror(errno)));
}

void TraceOutput::discard() {
  writer_.reset();
  if (!in_place_) std::filesystem::remove(path_);
}

// ---------------------------------------------------------------- session

TraceSession::TraceSession(TraceWriter& w, std::string tool)
    : w_(w), tool_(std::move(tool)), layouts_(kMapsEveryNs) {}

void TraceSession::syscall(const hk_sys_record& r, uint64_t now) {
  switch (r.kind) {
    case HK_SYS_CALL: layouts_.note(r.pid); break;
    case HK_SYS_FORK:
      layouts_.note(r.pid);
      layouts_.note(uint32_t(r.args[0]));
      break;
    case HK_SYS_EXEC: layouts_.exec(r.pid); break;
    case HK_SYS_EXIT: layouts_.gone(r.pid); break;
  }
  if (sys_pending_.empty()) sys_since_ = now;
  sys_pending_.push_back(r);
  ++sys_total_;
  if (r.kind == HK_SYS_CALL) ++by_nr_[r.nr];
  else ++by_kind_[r.kind];
  if (r.kind == HK_SYS_FAULTS) faults_ += r.args[2];
  if (sys_pending_.size() >= kChunkRecords) flush_syscalls();
}

void TraceSession::tick(uint64_t now) {
  if (!sys_pending_.empty() && now - sys_since_ >= kChunkMaxAgeNs) flush_syscalls();
}

void TraceSession::flush_syscalls() {
  write([&] { w_.append_syscalls(sys_pending_); });
  sys_pending_.clear();
}

void TraceSession::sample_layouts(uint64_t now) {
  layouts_.sample(now, [&](uint32_t pid, const std::string& text) {
    ++layouts_written_;
    write([&] { w_.append_meta({{fmt::format("maps.{}", pid), text}}); });
  });
}

void TraceSession::meta(const TraceMeta& m) {
  write([&] { w_.append_meta(m); });
}

void TraceSession::ring_opened(const hk_trace_ring_info& info) {
  // A ring is made at process start (or at an attach), so this layout is new.
  layouts_.exec(info.pid);
  ++rings_;
  ring_pids_.push_back(info.pid);
  write([&] { w_.append_ring(info); });
}

void TraceSession::ring_events(uint32_t pid, std::span<const hk_event> events) {
  events_ += events.size();
  if (!config_learned_) learn_config(events);
  write([&] { w_.append_events(pid, events); });
}

void TraceSession::ring_closed(const hk_trace_ring_info& info) {
  dropped_ += info.dropped;
  overwritten_ += info.overwritten;
  torn_ += info.torn;
  write([&] { w_.append_ring(info); });
}

void TraceSession::ring_refused(const std::string& path, const std::string& why) {
  say(tool_, fmt::format("ignoring ring {}: {}", path, why));
}

void TraceSession::finish(hk_trace_footer f) {
  f.ring_dropped = dropped_ + overwritten_ + torn_;
  write([&] { w_.finish(f); });
}

template <class F>
void TraceSession::write(F&& f) {
  if (failed_) return;
  try {
    f();
  } catch (const TraceError& e) {
    failed_ = true;
    say(tool_, fmt::format("{}; recording stopped, the program keeps running", e.what()));
  }
}

void TraceSession::learn_config(std::span<const hk_event> events) {
  for (const auto& e : events) {
    if (e.type != HK_EV_CONFIG) continue;
    config_learned_ = true;
    // One name per value everywhere: the keys are the event's field names.
    const EventFields& f = event_fields(HK_EV_CONFIG);
    TraceMeta m;
    m[fmt::format("config.{}", f.addr)] = std::to_string(e.addr);
    m[fmt::format("config.{}", f.len)] = std::to_string(e.len);
    m[fmt::format("config.{}", f.a)] = std::to_string(e.a);
    m[fmt::format("config.{}", f.b)] = std::to_string(e.b);
    m[fmt::format("config.{}", f.c)] = std::to_string(e.c);
    meta(m);
    return;
  }
}

// ---------------------------------------------------------------- summary

void print_summary(const TraceSession& s, const std::string& allocator_absent, bool bpf,
                   const std::string& path, uint64_t lost, uint64_t duration_ns,
                   const std::string& outcome) {
  fmt::print(stderr, "hakmem-analyze {}: {} after {:.3f} s\n", s.tool(), outcome, duration_ns / 1e9);
  if (allocator_absent.empty() || s.rings())
    fmt::print(stderr, "  allocator: {} events from {} rings; dropped {}, overwritten {}, torn {}\n",
               s.events(), s.rings(), s.dropped(), s.overwritten(), s.torn());
  else
    fmt::print(stderr, "  allocator: {}\n", allocator_absent);
  if (bpf) {
    std::vector<std::string> parts;
    for (const auto& [nr, n] : s.by_nr()) parts.push_back(fmt::format("{} {}", syscall_name(nr), n));
    for (const auto& [kind, n] : s.by_kind()) {
      const std::string_view name = sys_kind_name(kind);
      parts.push_back(fmt::format("{} {}", name.empty() ? "other" : name, n));
    }
    if (s.faults()) parts.push_back(fmt::format("{} page faults", s.faults()));
    fmt::print(stderr, "  kernel:    {} records{}{}; lost {}\n", s.syscalls(),
               parts.empty() ? "" : ": ", fmt::join(parts, ", "), lost);
  } else {
    fmt::print(stderr, "  kernel:    not recorded (--no-bpf)\n");
  }
  fmt::print(stderr, "  layouts:   {} snapshots of /proc/PID/maps, for naming call sites\n",
             s.layouts_written());
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  fmt::print(stderr, "  trace:     {} ({:.1f} KiB)\n", path, ec ? 0.0 : size / 1024.0);
  // What capturing cost, apart from the probe's in-kernel time.
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  fmt::print(stderr, "  recorder:  {:.3f} s user, {:.3f} s system\n",
             ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
             ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

}  // namespace hk::analyze
