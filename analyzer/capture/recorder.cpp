// Recorder: launch, collect both sources, write the trace. See recorder.h.
#include "capture/recorder.h"

#include "trace/event_names.h"
#include "cli/exit_codes.h"
#include "capture/launcher.h"
#include "capture/probe_source.h"
#include "capture/ring_collector.h"
#include "capture/trace_session.h"
#include "trace/trace_file.h"


#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>

extern char** environ;

namespace hk::analyze {
namespace {

// How often the ring directory is listed, and how often dead writers are
// looked for (that reads /proc/<pid>/maps of every ring's writer).
constexpr uint64_t kScanEveryNs = 5'000'000;
constexpr uint64_t kRetireEveryNs = 50'000'000;
// Wait of the main loop between passes: it bounds how late rings are read
// and how late the end of the tree is noticed. While records flow, the wait
// adapts to the busiest ring: it halves when a pass read more than an
// eighth of that ring, and doubles (up to kMaxBusyWaitMs) when it read less
// than a thirty-second, so a ring is never near full between passes.
// Waking every millisecond regardless cost 2-4% of a 2-core machine running
// a two-thread program (bench_mt_random_mixed 2 threads: 4.1% slower under
// `record --no-bpf`, 0.9% with the ring alone).
constexpr int kIdleWaitMs = 5;
constexpr int kMinBusyWaitMs = 1;
constexpr int kMaxBusyWaitMs = 16;

int next_busy_wait(int wait_ms, double fullest_share) {
  if (fullest_share > 1.0 / 8) return std::max(kMinBusyWaitMs, wait_ms / 2);
  if (fullest_share < 1.0 / 32) return std::min(kMaxBusyWaitMs, wait_ms * 2);
  return wait_ms;
}
void say(const std::string& line) { fmt::print(stderr, "hakmem-analyze record: {}\n", line); }

// ---------------------------------------------------------------- signals
// The handler only forwards and counts; the main loop notices within one
// idle wait.
volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_signals = 0;
volatile sig_atomic_t g_last_signal = 0;

void on_signal(int sig, siginfo_t* si, void*) {
  g_last_signal = sig;
  g_signals = g_signals + 1;
  pid_t child = g_child;
  if (child <= 0) return;
  // A terminal's ^C already reached the whole foreground process group; a
  // second copy could make the command act twice.
  bool from_tty = si && si->si_code == SI_KERNEL;
  if (!from_tty || getpgid(child) != getpgrp()) kill(child, sig);
}

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP};

void install_signal_handlers() {
  struct sigaction sa{};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : kForwarded) sigaction(sig, &sa, nullptr);
}

void restore_signal_handlers() {
  g_child = 0;
  for (int sig : kForwarded) signal(sig, SIG_DFL);
}

// ---------------------------------------------------------------- setup

std::string shell_quote(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                   "0123456789_-+=/.,:@%") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

bool readable_file(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && access(p.c_str(), R_OK) == 0;
}

std::vector<std::string> command_env(const std::string& ring, const RecordOptions& o,
                                     const std::string& lib) {
  std::string old_preload;
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    auto key = kv.substr(0, kv.find('='));
    if (key == "HAKMEM_RING" || key == "HAKMEM_RING_SIZE" || key == "HAKMEM_RING_MODE") continue;
    if (key == "LD_PRELOAD" && !lib.empty()) {
      old_preload = std::string(kv.substr(std::min(kv.size(), key.size() + 1)));
      continue;
    }
    env.emplace_back(kv);
  }
  env.push_back("HAKMEM_RING=" + ring);
  if (!o.ring_size.empty()) env.push_back("HAKMEM_RING_SIZE=" + o.ring_size);
  if (!o.ring_mode.empty()) env.push_back("HAKMEM_RING_MODE=" + o.ring_mode);
  if (!lib.empty())
    env.push_back("LD_PRELOAD=" + lib + (old_preload.empty() ? "" : ":" + old_preload));
  return env;
}

TraceMeta initial_meta(const RecordOptions& o, const std::string& lib, bool bpf,
                       const std::string& attach, bool faults, uint64_t start_mono,
                       uint64_t start_real) {
  TraceMeta m = base_meta(start_mono, start_real);
  m["command"] = shell_quote(o.command);
  m["preload"] = std::string(lib.empty() ? "0" : "1");  // a temporary: GCC 12 warns -Wrestrict on assign(const char*)
  if (!lib.empty()) m["preload.path"] = lib;
  probe_meta(m, bpf, attach, o.user_stacks, faults);
  // The allocators' knobs the command ran with: `whatif` marks the recorded
  // setting by them, and a model knows what the recorded run could cache.
  for (const char* knob : kAllocatorKnobs)
    if (const char* v = std::getenv(knob)) m[std::string("env.") + knob] = v;
  m["ring.mode"] = o.ring_mode.empty() ? "stream" : o.ring_mode;
  if (!o.ring_size.empty()) m["ring.size"] = o.ring_size;
  return m;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kExitLaunchFailed;
}

}  // namespace

std::string find_preload_library() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("HAKMEM_LIB"); env && *env)
    return readable_file(env) ? fs::absolute(env).string() : std::string();
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  for (const char* rel : {"../preload/libhakmem.so", "../lib/libhakmem.so"}) {
    fs::path p = (exe.parent_path() / rel).lexically_normal();
    if (readable_file(p)) return p.string();
  }
  return {};
}

int record(const RecordOptions& o) {
  if (o.command.empty()) {
    say("no command given: hakmem-analyze record [options] -- CMD ARGS...");
    return kExitBadInput;
  }
  if (!o.bpf && !o.preload) {
    say("--no-bpf with --no-preload leaves nothing to record");
    return kExitBadInput;
  }
  TraceOutput out;
  if (std::string why; !out.check(o.output, &why)) {
    say(why);
    return kExitTraceWriteFailed;
  }
  std::string lib;
  if (o.preload) {
    lib = find_preload_library();
    if (lib.empty()) {
      say("cannot find libhakmem.so: set HAKMEM_LIB=/path/to/libhakmem.so, or record "
          "syscalls only with --no-preload");
      return kExitLaunchFailed;
    }
  }

  auto run_as = sudo_invoker();
  const uid_t owner = run_as ? run_as->uid : geteuid();
  char dir_template[] = "/dev/shm/hakmem-record.XXXXXX";
  if (!mkdtemp(dir_template)) {
    say(fmt::format("cannot create a ring directory in /dev/shm: {}", std::strerror(errno)));
    return kExitLaunchFailed;
  }
  const std::string ring_dir = dir_template;
  // Until the trace exists, giving up removes the (still empty) ring directory.
  auto fail_early = [&](const std::string& why, int code) {
    say(why);
    rmdir(ring_dir.c_str());
    return code;
  };
  if (run_as && chown(ring_dir.c_str(), run_as->uid, run_as->gid) != 0)
    return fail_early(fmt::format("cannot hand {} to uid {}: {}", ring_dir, run_as->uid,
                                  std::strerror(errno)),
                      kExitLaunchFailed);
  // The command is forked, held, before the probe loads: a fork of this
  // process after that copied the page table entries of the probe's ring
  // buffer (a mapping fork cannot leave to be faulted in again) and of the
  // libbpf heap, and the command's exec then tore them down on its own CPU
  // time. A trivial program's CPU time at main() under record: 1.40 ms
  // before, 1.00 ms now, 0.72 ms with --no-bpf. If anything fails before
  // release(), the Launcher's destructor lets the child exit unrun.
  Launcher launcher;
  try {
    launcher.start({o.command, command_env(ring_dir + "/ring", o, lib), run_as});
  } catch (const LaunchError& e) {
    return fail_early(e.what(), kExitLaunchFailed);
  }
  const pid_t child = launcher.child();

  ProbeSource probe;
  if (o.bpf) {
    std::string why;
    int code = 0;
    if (!probe.open({o.bpf_buffer_bytes, o.user_stacks, o.faults}, "record allocator events only with --no-bpf",
                    &why, &code))
      return fail_early(why, code);
    if (o.faults && !probe.faults())
      say("the kernel refused the page-fault and RSS programs: recording syscalls only");
  }
  const std::string attach = probe.attach_kind();
  const bool faults = probe.faults();

  RingCollector rings(ring_dir, owner, kChunkRecords, kChunkMaxAgeNs);

  const uint64_t start_mono = mono_ns(), start_real = clock_ns(CLOCK_REALTIME);
  // A regular trace starts under a temporary name next to FILE: a command
  // that cannot start must leave FILE and FILE.old as they were.
  TraceWriter* writer = nullptr;
  try {
    std::optional<std::pair<uid_t, gid_t>> trace_owner;
    if (run_as) trace_owner.emplace(run_as->uid, run_as->gid);
    writer = &out.open(initial_meta(o, lib, o.bpf, attach, faults, start_mono, start_real),
                       trace_owner, "record");
  } catch (const TraceError& e) {
    return fail_early(e.what(), kExitTraceWriteFailed);
  }
  TraceSession session(*writer, "record");

  // Orphaned descendants are reparented to us, so waitpid(-1) tells exactly
  // when the whole tree is gone, with or without the probe.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  install_signal_handlers();
  // The command never ran: no trace is better than an empty one.
  auto abandon = [&](const std::string& why, int code) {
    say(why);
    restore_signal_handlers();
    rings.finish(session);
    out.discard();
    return code;
  };
  g_child = child;
  // Launcher's destructor closes the hold pipe, so the unreleased child exits.
  if (probe.loaded() && !probe.trace(child))
    return abandon(fmt::format("could not add pid {} to the probe's traced set", child),
                   kExitBpfLoadFailed);
  if (std::string failed = launcher.release(); !failed.empty())
    return abandon(failed, kExitLaunchFailed);
  session.process_started(uint32_t(child));
  out.publish("record");

  // ---- main loop: until the tree is gone, or a second ^C.
  int status = 0;
  bool child_done = false, tree_done = false, broken = false;
  uint64_t child_done_at = 0, last_scan = 0, last_retire = 0;
  bool busy = false;
  int busy_wait_ms = kMinBusyWaitMs;
  uint64_t now = mono_ns();
  auto on_record = [&](const hk_sys_record& r) { session.syscall(r, now); };
  // Whatever goes wrong in here, the records already read still reach the
  // file: the drain and footer below run on every way out of the loop.
  try {
    for (;;) {
      probe.wait(busy ? busy_wait_ms : kIdleWaitMs, on_record);
      now = mono_ns();
      if (now - last_scan >= kScanEveryNs) {
        rings.scan(session, now);
        last_scan = now;
      }
      busy = rings.poll(session, now) > 0;
      if (busy) busy_wait_ms = next_busy_wait(busy_wait_ms, rings.fullest_share());
      session.sample_layouts(now);
      session.tick(now);

      for (;;) {
        int st = 0;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p > 0) {
          if (p == child) {
            status = st;
            child_done = true;
            child_done_at = now;
            g_child = 0;
          }
          continue;
        }
        if (p < 0 && errno == ECHILD) tree_done = true;
        break;
      }
      if (now - last_retire >= kRetireEveryNs || tree_done) {
        rings.retire(session);
        last_retire = now;
      }
      if (tree_done) break;
      if (child_done && now - child_done_at >= uint64_t(o.tree_grace_ms) * 1'000'000) {
        say(fmt::format("the command exited {} ms ago but some of its descendants still run; "
                        "stopped recording (they keep running)", o.tree_grace_ms));
        break;
      }
      if (g_signals >= 2) break;
    }
  } catch (const std::exception& e) {
    say(fmt::format("recording stopped early: {}", e.what()));
    broken = true;
  }
  // Signals stay caught (and no longer forwarded) until the footer is on
  // disk: a ^C now must not cut the trace short.
  g_child = 0;

  // ---- drain what is left, then the footer.
  const uint64_t lost = probe.drain(on_record);
  rings.finish(session);
  session.flush_syscalls();
  const uint64_t end = mono_ns();
  int code = child_done ? exit_code_of(status)
             : g_signals   ? 128 + int(g_last_signal)
                           : kExitTraceWriteFailed;
  hk_trace_footer footer{};
  footer.bpf_lost = lost;
  footer.end_mono_ns = end;
  footer.exit_status = code;
  session.finish(footer);

  std::string outcome = child_done ? fmt::format("{} exited with {}", o.command[0], code)
                        : broken   ? fmt::format("recording failed; {} still runs", o.command[0])
                                   : fmt::format("stopped by a second signal; {} still runs",
                                                 o.command[0]);
  restore_signal_handlers();
  print_summary(session, o.preload ? "" : "not recorded (--no-preload)", o.bpf, out.path(), lost,
                end - start_mono, outcome);
  return session.failed() || broken ? kExitTraceWriteFailed : code;
}

}  // namespace hk::analyze
