// Attacher: record a running process. See attacher.h.
#include "capture/attacher.h"

#include "capture/probe_source.h"
#include "capture/remote_attach_point.h"
#include "capture/ring_collector.h"
#include "capture/trace_session.h"
#include "cli/exit_codes.h"
#include "trace/trace_file.h"

#include <hakmem/ring_format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

namespace hk::analyze {
namespace {

constexpr int kWaitMs = 5;
// How often the ring directory is listed and dead writers looked for.
constexpr uint64_t kScanEveryNs = 5'000'000;
constexpr uint64_t kRetireEveryNs = 50'000'000;
// After the gate closes, a writer that had passed it finishes its record
// within microseconds; this is the wait before the rings are read out.
constexpr useconds_t kDetachSettleUs = 20'000;
// PF_KTHREAD in /proc/PID/stat's flags.
constexpr unsigned long kPfKthread = 0x00200000;

void say(const std::string& line) { fmt::print(stderr, "hakmem-analyze attach: {}\n", line); }

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

struct Target {
  pid_t pid = 0;
  uid_t uid = 0;  // filesystem ids: what its ring file is created with
  gid_t gid = 0;
  std::string command;
  uint64_t age_ns = 0;  // how long it had run when we attached
  bool preload = false;
  std::map<std::string, std::string> knobs;  // kAllocatorKnobs it runs with
};

// "Key:\tv1\tv2..." from /proc/PID/status.
std::vector<std::string> status_field(const std::string& status, const std::string& key) {
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream vals(line.substr(key.size() + 1));
    std::vector<std::string> out;
    for (std::string v; vals >> v;) out.push_back(v);
    return out;
  }
  return {};
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Exists, may be traced, and is a user process. Returns an exit code, 0 = ok.
int inspect(pid_t pid, Target& t) {
  const std::string proc = fmt::format("/proc/{}", pid);
  struct stat st{};
  if (pid <= 0 || ::stat(proc.c_str(), &st) != 0) {
    say(fmt::format("no process has pid {}", pid));
    return kExitNoSuchProcess;
  }
  const std::string status = slurp(proc + "/status");
  auto tgid = status_field(status, "Tgid");
  if (!tgid.empty() && std::stol(tgid[0]) != pid) {
    say(fmt::format("pid {} is a thread of process {}: attach to {}", pid, tgid[0], tgid[0]));
    return kExitBadInput;
  }
  if (pid == getpid()) {
    say("cannot attach to hakmem-analyze itself");
    return kExitBadInput;
  }
  // stat's fields after the command (which may hold spaces and parentheses).
  const std::string stat_line = slurp(proc + "/stat");
  const size_t paren = stat_line.rfind(')');
  std::vector<std::string> f;
  if (paren != std::string::npos) {
    std::istringstream in(stat_line.substr(paren + 1));
    for (std::string v; in >> v;) f.push_back(v);
  }
  // f[0] is field 3 (state): flags is field 9, starttime field 22.
  if (f.size() > 19 && (std::stoul(f[6]) & kPfKthread)) {
    say(fmt::format("pid {} is a kernel thread: it has no user memory to trace", pid));
    return kExitNotTraceable;
  }
  auto uids = status_field(status, "Uid"), gids = status_field(status, "Gid");
  // The kernel's own check (ptrace_may_access, read mode) guards maps.
  const int maps = ::open((proc + "/maps").c_str(), O_RDONLY | O_CLOEXEC);
  if (maps < 0) {
    if (errno == ENOENT || errno == ESRCH) {
      say(fmt::format("no process has pid {}", pid));
      return kExitNoSuchProcess;
    }
    say(fmt::format("not allowed to trace pid {} (uid {}): attach as its user or as root ({})", pid,
                    uids.empty() ? "?" : uids[0], std::strerror(errno)));
    return kExitNotTraceable;
  }
  std::string layout;
  char buf[65536];
  for (ssize_t n; (n = ::read(maps, buf, sizeof buf)) > 0;) layout.append(buf, size_t(n));
  ::close(maps);
  t.pid = pid;
  t.uid = uids.size() > 3 ? uid_t(std::stoul(uids[3])) : 0;
  t.gid = gids.size() > 3 ? gid_t(std::stoul(gids[3])) : 0;
  std::string cmd = slurp(proc + "/cmdline");
  while (!cmd.empty() && cmd.back() == '\0') cmd.pop_back();
  for (char& c : cmd)
    if (c == '\0') c = ' ';
  t.command = cmd;
  if (f.size() > 19) {
    const uint64_t start_ticks = std::stoull(f[19]);
    const uint64_t started = start_ticks * 1'000'000'000ull / uint64_t(sysconf(_SC_CLK_TCK));
    const uint64_t now = clock_ns(CLOCK_BOOTTIME);
    t.age_ns = now > started ? now - started : 0;
  }
  t.preload = layout.find("/libhakmem") != std::string::npos;
  // Its environment as it was at exec: the allocator read its settings then.
  const std::string env = slurp(proc + "/environ");
  for (size_t at = 0; at < env.size();) {
    const size_t end = std::min(env.find('\0', at), env.size());
    const std::string kv = env.substr(at, end - at);
    for (const char* knob : kAllocatorKnobs)
      if (kv.rfind(std::string(knob) + "=", 0) == 0) t.knobs[knob] = kv.substr(std::strlen(knob) + 1);
    at = end + 1;
  }
  return 0;
}

// The allocator side: the attach point, its request and what became of it.
struct AllocatorLink {
  std::optional<RemoteAttachPoint> point;
  uint64_t generation = 0;
  bool answered = false;
  std::string outcome;  // for the summary and the trace's metadata
};

void request_ring(AllocatorLink& link, const Target& t, const std::string& ring_dir) {
  std::string why;
  RemoteAttachPoint::Missing missing{};
  link.point = RemoteAttachPoint::find(t.pid, &missing, &why);
  if (!link.point) {
    link.outcome = why;
    return;
  }
  hk_attach_point cur{};
  if (!link.point->read(cur, &why)) {
    link.outcome = why;
    return;
  }
  if (cur.state == HK_ATTACH_STATE_ENV) {
    link.outcome = "its ring comes from HAKMEM_RING (another recording owns it); kernel view only";
    link.point.reset();
    return;
  }
  link.generation = link.point->request(ring_dir + "/ring", 0, HK_RING_MODE_STREAM, &why);
  if (!link.generation) {
    link.outcome = why;
    link.point.reset();
    return;
  }
  link.outcome = "asked for its ring; it opens at the allocator's next slow path";
}

// Has the allocator answered? Says so once.
void check_answer(AllocatorLink& link, uint64_t since_ns, uint64_t now) {
  if (!link.point || link.answered) return;
  hk_attach_point cur{};
  std::string why;
  if (!link.point->read(cur, &why) || cur.served < link.generation) return;
  link.answered = true;
  if (cur.state == HK_ATTACH_STATE_OPEN) {
    link.outcome = fmt::format("ring opened {:.1f} ms after the request", (now - since_ns) / 1e6);
  } else {
    link.outcome = fmt::format("the allocator could not open its ring: {}", std::strerror(cur.error));
    say(link.outcome);
    link.point.reset();
  }
}

// Closes the gate of every process writing a ring: the attached one and
// the children it forked since (each has its own copy of the point).
void detach(const AllocatorLink& link, const Target& t, const std::vector<uint32_t>& ring_pids) {
  if (!link.point) return;
  std::vector<uint32_t> pids = ring_pids;
  pids.push_back(uint32_t(t.pid));
  for (uint32_t pid : pids) {
    std::string why;
    RemoteAttachPoint::Missing missing{};
    auto p = pid == uint32_t(t.pid) ? link.point : RemoteAttachPoint::find(pid_t(pid), &missing, &why);
    if (p && !p->set_gate(0, &why) && kill(pid_t(pid), 0) == 0)
      say(fmt::format("cannot detach from pid {}: {}", pid, why));
  }
}

int pidfd_of(pid_t pid) { return int(syscall(SYS_pidfd_open, pid, 0)); }

bool exited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return pidfd >= 0 && ::poll(&p, 1, 0) > 0;
}

}  // namespace

int attach(const AttachOptions& o) {
  if (!o.bpf && !o.preload) {
    say("--no-bpf with --no-preload leaves nothing to record");
    return kExitBadInput;
  }
  Target t;
  if (int code = inspect(o.pid, t)) return code;
  const int pidfd = pidfd_of(t.pid);
  if (pidfd < 0 && errno == ESRCH) {
    say(fmt::format("no process has pid {}", t.pid));
    return kExitNoSuchProcess;
  }
  TraceOutput out;
  if (std::string why; !out.check(o.output, &why)) {
    say(why);
    return kExitTraceWriteFailed;
  }
  const bool want_ring = o.preload && t.preload;
  std::string ring_dir;
  if (want_ring) {
    char dir_template[] = "/dev/shm/hakmem-attach.XXXXXX";
    if (!mkdtemp(dir_template)) {
      say(fmt::format("cannot create a ring directory in /dev/shm: {}", std::strerror(errno)));
      return kExitTraceWriteFailed;
    }
    ring_dir = dir_template;
    // The process creates its ring file there, as itself.
    if (geteuid() != t.uid && chown(ring_dir.c_str(), t.uid, t.gid) != 0) {
      say(fmt::format("cannot hand {} to uid {}: {}", ring_dir, t.uid, std::strerror(errno)));
      rmdir(ring_dir.c_str());
      return kExitTraceWriteFailed;
    }
  }
  auto fail_early = [&](const std::string& why, int code) {
    say(why);
    if (!ring_dir.empty()) rmdir(ring_dir.c_str());
    return code;
  };

  ProbeSource probe;
  if (o.bpf) {
    std::string why;
    int code = 0;
    if (!probe.open({o.bpf_buffer_bytes, o.user_stacks, o.faults}, "attach with --no-bpf", &why, &code))
      return fail_early(why, code);
    if (!probe.trace(t.pid))
      return fail_early(fmt::format("could not add pid {} to the probe's traced set", t.pid), kExitBpfLoadFailed);
  }
  const std::string attach_kind = probe.attach_kind();
  const bool faults = probe.faults();

  const uint64_t start_mono = mono_ns(), start_real = clock_ns(CLOCK_REALTIME);
  TraceMeta meta = base_meta(start_mono, start_real);
  meta["command"] = t.command;
  meta["attach.pid"] = std::to_string(t.pid);
  meta["attach.process_age_ns"] = std::to_string(t.age_ns);
  meta["preload"] = want_ring ? "1" : "0";
  probe_meta(meta, o.bpf, attach_kind, o.user_stacks, faults);
  meta["ring.mode"] = "stream";
  for (const auto& [knob, value] : t.knobs) meta["env." + knob] = value;
  TraceWriter* writer = nullptr;
  try {
    std::optional<std::pair<uid_t, gid_t>> owner;
    if (const char* su = std::getenv("SUDO_UID"); su && geteuid() == 0)
      if (const char* sg = std::getenv("SUDO_GID")) owner.emplace(uid_t(std::stoul(su)), gid_t(std::stoul(sg)));
    writer = &out.open(meta, owner, "attach");
  } catch (const std::exception& e) {
    return fail_early(e.what(), kExitTraceWriteFailed);
  }
  TraceSession session(*writer, "attach");
  session.process_started(uint32_t(t.pid));
  out.publish("attach");

  RingCollector rings(ring_dir, t.uid, kChunkRecords, kChunkMaxAgeNs);
  AllocatorLink link;
  if (want_ring) request_ring(link, t, ring_dir);
  else link.outcome = o.preload ? "the process does not run under libhakmem.so" : "not recorded (--no-preload)";
  if (want_ring && !link.point) say(link.outcome);

  for (int sig : kStopSignals) signal(sig, on_signal);
  // ---- main loop: until a signal, the duration, or the process's exit.
  uint64_t now = mono_ns(), last_scan = 0, last_retire = 0;
  const uint64_t deadline = o.duration_s > 0 ? start_mono + uint64_t(o.duration_s * 1e9) : 0;
  std::string outcome;
  bool broken = false;
  auto on_record = [&](const hk_sys_record& r) { session.syscall(r, now); };
  try {
    for (;;) {
      probe.wait(kWaitMs, on_record);
      now = mono_ns();
      check_answer(link, start_mono, now);
      if (!ring_dir.empty()) {
        if (now - last_scan >= kScanEveryNs) {
          rings.scan(session, now);
          last_scan = now;
        }
        rings.poll(session, now);
        if (now - last_retire >= kRetireEveryNs) {
          rings.retire(session);
          last_retire = now;
        }
      }
      session.sample_layouts(now);
      session.tick(now);
      if (g_stop) {
        outcome = "stopped by a signal; the process runs on";
        break;
      }
      if (deadline && now >= deadline) {
        outcome = "duration reached; the process runs on";
        break;
      }
      if (exited(pidfd)) {
        outcome = fmt::format("pid {} exited", t.pid);
        break;
      }
    }
  } catch (const std::exception& e) {
    say(fmt::format("recording stopped early: {}", e.what()));
    outcome = "recording failed; the process runs on";
    broken = true;
  }

  // ---- detach, then read out what is left, then the footer. Signals stay
  // caught until the footer is on disk.
  detach(link, t, session.ring_pids());
  if (!ring_dir.empty()) {
    usleep(kDetachSettleUs);
    rings.finish(session);
    // A child forked just before the detach may have opened its ring since:
    // finish() read it out; its gate closes now.
    detach(link, t, session.ring_pids());
  }
  const uint64_t lost = probe.drain(on_record);
  session.flush_syscalls();
  if (want_ring) session.meta({{"attach.allocator", link.outcome}});
  const uint64_t end = mono_ns();
  hk_trace_footer footer{};
  footer.bpf_lost = lost;
  footer.end_mono_ns = end;
  session.finish(footer);
  if (pidfd >= 0) ::close(pidfd);
  for (int sig : kStopSignals) signal(sig, SIG_DFL);
  print_summary(session, link.outcome, o.bpf, out.path(), lost, end - start_mono,
                fmt::format("attached to pid {} ({}); {}", t.pid, t.command, outcome));
  return session.failed() || broken ? kExitTraceWriteFailed : kExitOk;
}

}  // namespace hk::analyze
