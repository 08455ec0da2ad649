// `hakmem-analyze record` and `events`, end to end, on record_target.
#include "subprocess.h"
#include "temp_dir.h"
#include "trace/trace_file.h"

#include <gtest/gtest.h>

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

namespace fs = std::filesystem;
using namespace hk::analyze;

namespace {

constexpr uid_t kNobody = 65534;

// Also writable by `nobody`, for the unprivileged runs.
struct TempDir : hk_test::TempDir {
  TempDir() : hk_test::TempDir("/tmp/hk-record-test", true) {}
};

// When we are root, runs argv as nobody (what an unprivileged user gets);
// otherwise we are unprivileged already.
std::vector<std::string> as_unprivileged(std::vector<std::string> argv) {
  if (geteuid() != 0) return argv;
  std::vector<std::string> out{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

hk_test::RunResult record(const std::vector<std::string>& opts, const std::vector<std::string>& cmd,
                          bool unprivileged = false) {
  std::vector<std::string> argv{HK_ANALYZE, "record"};
  argv.insert(argv.end(), opts.begin(), opts.end());
  argv.push_back("--");
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  hk_test::RunSpec spec;
  spec.argv = unprivileged ? as_unprivileged(argv) : argv;
  return hk_test::run(spec);
}

size_t lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

struct Summary {
  std::map<uint32_t, size_t> events_by_pid;
  std::map<uint16_t, size_t> events_by_type;
  std::map<uint32_t, size_t> syscalls_by_nr;
  std::set<uint32_t> syscall_pids;
  std::vector<hk_event> os_mmaps;
  std::vector<hk_sys_record> mmaps;
  size_t rings_opened = 0, rings_closed = 0;
  std::optional<hk_trace_footer> footer;
  TraceMeta meta;
  bool truncated = false;
};

Summary read_trace(const std::string& path) {
  Summary s;
  TraceReader r(path);
  TraceChunk c;
  while (r.next(c)) {
    for (const auto& e : c.events) {
      ++s.events_by_pid[c.source_pid];
      ++s.events_by_type[e.type];
      if (e.type == HK_EV_OS_MMAP) s.os_mmaps.push_back(e);
    }
    for (const auto& k : c.syscalls) {
      if (k.kind != HK_SYS_CALL) continue;
      ++s.syscalls_by_nr[k.nr];
      s.syscall_pids.insert(k.pid);
      if (k.nr == HK_NR_MMAP) s.mmaps.push_back(k);
    }
    if (c.ring) (c.ring->state == 1 ? s.rings_opened : s.rings_closed)++;
    if (c.footer) s.footer = c.footer;
  }
  s.meta = r.meta();
  s.truncated = r.truncated();
  return s;
}

bool bpf_required() {
  const char* v = std::getenv("HAKMEM_REQUIRE_BPF");
  return v && std::string(v) == "1";
}

// Exits 77 (ctest: skipped) when record refused to load the probe, unless
// CI asked for BPF; then it is a failure.
void skip_unless_bpf(const hk_test::RunResult& r) {
  if (r.exit_code < 3 || r.exit_code > 5 || r.term_signal) return;
  if (bpf_required()) FAIL() << "HAKMEM_REQUIRE_BPF=1 but the probe did not load: " << r.err;
  fprintf(stderr, "skipping: the eBPF probe cannot load here: %s", r.err.c_str());
  std::exit(77);
}

}  // namespace

TEST(Record, NoBpfWorksForAnUnprivilegedUser) {
  TempDir d;
  const auto trace = d.file("nobpf.trace");
  auto r = record({"--no-bpf", "-o", trace}, {HK_RECORD_TARGET, "alloc", "20000", "fork"}, true);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("allocator:"), std::string::npos) << r.err;
  Summary s = read_trace(trace);
  EXPECT_FALSE(s.truncated);
  ASSERT_TRUE(s.footer);
  EXPECT_EQ(s.footer->exit_status, 0);
  EXPECT_EQ(s.meta["bpf"], "0");
  EXPECT_EQ(s.meta["preload"], "1");
  EXPECT_EQ(s.meta["clock"], "CLOCK_MONOTONIC");
  EXPECT_TRUE(s.meta.count("config.drain_interval")) << "no HK_EV_CONFIG reached the trace";
  EXPECT_TRUE(s.syscalls_by_nr.empty());
  // The parent and its forked child each had a ring, opened and closed.
  EXPECT_GE(s.events_by_pid.size(), 2u);
  EXPECT_EQ(s.rings_opened, s.rings_closed);
  EXPECT_GE(s.rings_opened, 2u);
  EXPECT_GT(s.events_by_type[HK_EV_SS_MAP], 0u);
}

TEST(Record, UnderSudoTheCommandRunsAsTheInvokingUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to act as sudo";
  TempDir d;
  const auto trace = d.file("sudo.trace");
  hk_test::RunSpec spec;
  spec.argv = {HK_ANALYZE, "record", "--no-bpf", "-o", trace, "--", HK_RECORD_TARGET, "uid",
               "alloc", "5000"};
  spec.env = {{"SUDO_UID", std::to_string(kNobody)}, {"SUDO_GID", std::to_string(kNobody)}};
  auto r = hk_test::run(spec);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "uid=65534 gid=65534\n");
  // The dropped command could still write its ring, and the trace is the user's.
  Summary s = read_trace(trace);
  EXPECT_GT(s.events_by_type[HK_EV_SS_MAP], 0u);
  struct stat st{};
  ASSERT_EQ(stat(trace.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody);
}

TEST(Record, RefusesBpfWithoutPrivilegeInOneLine) {
  TempDir d;
  auto r = record({"-o", d.file("x.trace")}, {HK_RECORD_TARGET}, true);
#ifdef HAKMEM_HAVE_BPF
  EXPECT_EQ(r.exit_code, 3) << r.err;
#else
  EXPECT_EQ(r.exit_code, 5) << r.err;
#endif
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("--no-bpf"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d.file("x.trace")));
}

TEST(Record, PassesTheExitCodeThrough) {
  TempDir d;
  auto r = record({"--no-bpf", "-o", d.file("a.trace")}, {HK_RECORD_TARGET, "alloc", "100", "exit", "42"});
  EXPECT_EQ(r.exit_code, 42) << r.err;
  r = record({"--no-bpf", "-o", d.file("b.trace")}, {HK_RECORD_TARGET, "signal", "15"});
  EXPECT_EQ(r.exit_code, 128 + 15) << r.err;
  ASSERT_TRUE(read_trace(d.file("b.trace")).footer);
  EXPECT_EQ(read_trace(d.file("b.trace")).footer->exit_status, 128 + 15);
}

TEST(Record, CrashingTargetLeavesACompleteTrace) {
  TempDir d;
  const auto trace = d.file("crash.trace");
  auto r = record({"--no-bpf", "-o", trace}, {HK_RECORD_TARGET, "alloc", "20000", "crash"});
  EXPECT_EQ(r.exit_code, 128 + 11) << r.err;
  Summary s = read_trace(trace);
  EXPECT_FALSE(s.truncated);
  ASSERT_TRUE(s.footer);
  EXPECT_EQ(s.footer->exit_status, 128 + 11);
  EXPECT_GT(s.events_by_type[HK_EV_SS_MAP], 0u);
  EXPECT_EQ(s.rings_opened, 1u);
  EXPECT_EQ(s.rings_closed, 1u);
}

TEST(Record, WaitsForOrphanedDescendants) {
  TempDir d;
  const auto trace = d.file("orphan.trace");
  // The command exits at once; its child allocates 300 ms later.
  auto r = record({"--no-bpf", "-o", trace}, {HK_RECORD_TARGET, "alloc", "100", "orphan", "300"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Summary s = read_trace(trace);
  EXPECT_EQ(s.events_by_pid.size(), 2u);
  EXPECT_EQ(s.rings_closed, s.rings_opened);
}

TEST(Record, KeepsThePreviousTraceAsOld) {
  TempDir d;
  const auto trace = d.file("k.trace");
  ASSERT_EQ(record({"--no-bpf", "-o", trace}, {HK_RECORD_TARGET, "exit", "3"}).exit_code, 3);
  ASSERT_EQ(record({"--no-bpf", "-o", trace}, {HK_RECORD_TARGET, "exit", "4"}).exit_code, 4);
  EXPECT_EQ(read_trace(trace).footer->exit_status, 4);
  EXPECT_EQ(read_trace(trace + ".old").footer->exit_status, 3);
  // A command that cannot even start leaves both where they were.
  ASSERT_EQ(record({"--no-bpf", "-o", trace}, {"/nonexistent/program"}).exit_code, 6);
  EXPECT_EQ(read_trace(trace).footer->exit_status, 4);
  EXPECT_EQ(read_trace(trace + ".old").footer->exit_status, 3);
}

TEST(Record, CommandThatCannotRunGivesOneLine) {
  TempDir d;
  auto r = record({"--no-bpf", "-o", d.file("n.trace")}, {"/nonexistent/program"});
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/program"), std::string::npos);
}

TEST(Record, WithBpfCapturesBothSourcesAndJoinKeysAgree) {
  TempDir d;
  const auto trace = d.file("bpf.trace");
  auto r = record({"-o", trace}, {HK_RECORD_TARGET, "alloc", "20000", "mmap", "50", "fork"});
  skip_unless_bpf(r);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("kernel:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("lost 0"), std::string::npos) << r.err;
  Summary s = read_trace(trace);
  ASSERT_TRUE(s.footer);
  EXPECT_EQ(s.meta["bpf"], "1");
  EXPECT_EQ(s.footer->bpf_lost, 0u);
  EXPECT_GE(s.syscalls_by_nr[HK_NR_MMAP], 50u);
  EXPECT_GE(s.syscalls_by_nr[HK_NR_MUNMAP], 50u);
  EXPECT_GE(s.syscall_pids.size(), 2u) << "the forked child's syscalls are missing";
  EXPECT_GE(s.events_by_pid.size(), 2u);
  // Every mmap the allocator says it made is one the kernel saw, with the
  // same address and length: the join key.
  ASSERT_FALSE(s.os_mmaps.empty());
  for (const auto& e : s.os_mmaps) {
    if (int64_t(e.a) < 0) continue;  // a failed mmap
    bool found = false;
    for (const auto& k : s.mmaps) found |= uint64_t(k.ret) == e.addr && k.args[1] == e.len;
    EXPECT_TRUE(found) << "no kernel mmap for allocator mmap at " << std::hex << e.addr;
  }
}

// The layouts the recorder keeps (META "maps.<pid>") name the process's
// executable; `record_target` sleeps so that its life outlasts any race.
bool has_layout_naming(const TraceMeta& meta, uint32_t pid, const std::string& path) {
  auto it = meta.find("maps." + std::to_string(pid));
  return it != meta.end() && it->second.find(path) != std::string::npos;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(s.substr(start, nl - start));
  return out;
}

TEST(Record, NoBpfKeepsTheLayoutOfEachRingWriter) {
  TempDir d;
  const auto trace = d.file("layout-nobpf.trace");
  auto r = record({"--no-bpf", "-o", trace}, {HK_RECORD_TARGET, "alloc", "1000", "sleep", "100"}, true);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Summary s = read_trace(trace);
  ASSERT_EQ(s.events_by_pid.size(), 1u);
  EXPECT_TRUE(has_layout_naming(s.meta, s.events_by_pid.begin()->first, HK_RECORD_TARGET))
      << "no maps." << s.events_by_pid.begin()->first << " naming " << HK_RECORD_TARGET;
}

TEST(Record, WithBpfCallSitesAreNamedFromTheStoredLayout) {
  TempDir d;
  const auto trace = d.file("layout.trace");
  auto r = record({"-o", trace}, {HK_RECORD_TARGET, "mmap", "100", "sleep", "100"});
  skip_unless_bpf(r);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Summary s = read_trace(trace);
  ASSERT_GE(s.mmaps.size(), 100u);
  const uint32_t pid = s.mmaps.back().pid;
  EXPECT_TRUE(has_layout_naming(s.meta, pid, HK_RECORD_TARGET))
      << "no maps." << pid << " naming " << HK_RECORD_TARGET;
  // Stacks are opt-in: none by default.
  EXPECT_EQ(s.meta["bpf.user_stacks"], "0");
  for (const auto& k : s.mmaps) EXPECT_LT(k.stack_id, 0);

  hk_test::RunSpec spec;
  spec.argv = {HK_ANALYZE, "report", trace};
  auto rep = hk_test::run(spec);
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  // The busiest outside call site is record_target's mmap loop, named as
  // "function+0xNN (record_target)", not as a raw address.
  auto lines = split_lines(rep.out);
  auto header = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("top call sites (") != std::string::npos;
  });
  ASSERT_NE(header, lines.end()) << rep.out;
  EXPECT_NE(header->find("named from the process maps"), std::string::npos) << *header;
  bool named = false;
  for (auto it = header + 1; it != lines.end() && !it->empty(); ++it) {
    if (it->find(" mmap ") == std::string::npos) continue;
    named = it->find("+0x") != std::string::npos && it->find(" (record_target) ") != std::string::npos;
    EXPECT_TRUE(named) << "first mmap call site is not symbolized: " << *it;
    break;
  }
  EXPECT_TRUE(named) << rep.out;
}

TEST(Record, StacksAreRecordedOnlyWhenAskedFor) {
  TempDir d;
  const auto trace = d.file("stacks.trace");
  auto r = record({"--no-preload", "--stacks", "-o", trace}, {HK_RECORD_TARGET, "mmap", "20"});
  skip_unless_bpf(r);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Summary s = read_trace(trace);
  EXPECT_EQ(s.meta["bpf.user_stacks"], "1");
  ASSERT_GE(s.mmaps.size(), 20u);
  size_t with_stack = 0;
  for (const auto& k : s.mmaps) with_stack += k.stack_id >= 0;
  EXPECT_GE(with_stack, 20u);
}

TEST(Events, PrintsBothSourcesInTimeOrder) {
  TempDir d;
  const auto trace = d.file("ev.trace");
  auto r = record({"-o", trace}, {HK_RECORD_TARGET, "alloc", "5000", "mmap", "5"});
  const bool bpf = r.exit_code == 0;
  if (!bpf) {
    if (bpf_required()) skip_unless_bpf(r);
    r = record({"--no-bpf", "-o", trace}, {HK_RECORD_TARGET, "alloc", "5000", "mmap", "5"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  hk_test::RunSpec spec;
  spec.argv = {HK_ANALYZE, "events", trace, "--json"};
  auto j = hk_test::run(spec);
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_NE(j.out.find("\"source\":\"alloc\""), std::string::npos);
  EXPECT_NE(j.out.find("\"type\":\"ss_map\""), std::string::npos);
  if (bpf) {
    EXPECT_NE(j.out.find("\"source\":\"kernel\""), std::string::npos);
  }
  // Monotonic t_ns over the whole merged stream.
  int64_t last = INT64_MIN;
  size_t n = 0;
  for (size_t pos = 0; (pos = j.out.find("{\"t_ns\":", pos)) != std::string::npos; ++n) {
    pos += 8;
    int64_t t = std::strtoll(j.out.c_str() + pos, nullptr, 10);
    EXPECT_GE(t, last);
    last = t;
  }
  EXPECT_EQ(n, lines(j.out));

  spec.argv = {HK_ANALYZE, "events", trace, "--type", "slab_acquire", "--limit", "2"};
  auto t = hk_test::run(spec);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_EQ(lines(t.out), 3u) << t.out;  // header + 2
  EXPECT_NE(t.out.find("slab_acquire"), std::string::npos);
  EXPECT_EQ(t.out.find("ss_map"), std::string::npos);

  spec.argv = {HK_ANALYZE, "events", trace, "--type", "no_such_event"};
  auto bad = hk_test::run(spec);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(lines(bad.err), 1u) << bad.err;

  spec.argv = {HK_ANALYZE, "events", "/etc/passwd"};
  auto hostile = hk_test::run(spec);
  EXPECT_EQ(hostile.exit_code, 2);
  EXPECT_EQ(lines(hostile.err), 1u) << hostile.err;
}

TEST(Record, UnwritableTraceGivesOneLineAndItsOwnCode) {
  TempDir d;
  auto r = record({"--no-bpf", "-o", d.file("no/such/dir.trace")}, {HK_RECORD_TARGET});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
}

TEST(Record, FullRingsAreCountedNotHidden) {
  TempDir d;
  // Stream mode: a 64-slot ring cannot hold a burst of slab events.
  const auto stream = d.file("stream.trace");
  auto r = record({"--no-bpf", "--ring-size", "4K", "-o", stream},
                  {HK_RECORD_TARGET, "alloc", "300000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Summary s = read_trace(stream);
  ASSERT_TRUE(s.footer);
  EXPECT_GT(s.footer->ring_dropped, 0u);
  EXPECT_EQ(r.err.find("dropped 0,"), std::string::npos) << r.err;
  // Flight mode: the same burst overwrites instead. The pause lets the
  // recorder attach first, so the overwrites happen under its eyes.
  const auto flight = d.file("flight.trace");
  r = record({"--no-bpf", "--ring-size", "4K", "--ring-mode", "flight", "-o", flight},
             {HK_RECORD_TARGET, "alloc", "10", "sleep", "100", "alloc", "300000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("overwritten 0,"), std::string::npos) << r.err;
  EXPECT_GT(read_trace(flight).footer->ring_dropped, 0u);
}

TEST(Record, TinyBpfBufferReportsLostRecords) {
  TempDir d;
  const auto trace = d.file("lost.trace");
  auto r = record({"--no-preload", "--bpf-buffer", "4096", "-o", trace},
                  {HK_RECORD_TARGET, "mmap", "20000"});
  skip_unless_bpf(r);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Summary s = read_trace(trace);
  ASSERT_TRUE(s.footer);
  EXPECT_GT(s.footer->bpf_lost, 0u);
  EXPECT_EQ(r.err.find("lost 0\n"), std::string::npos) << r.err;
  EXPECT_EQ(s.meta["preload"], "0");
  EXPECT_TRUE(s.events_by_pid.empty());
}

TEST(Record, SigtermIsForwardedAndTheTraceIsFinished) {
  TempDir d;
  const auto trace = d.file("term.trace");
  pid_t rec = fork();
  ASSERT_GE(rec, 0);
  if (rec == 0) {
    execl(HK_ANALYZE, HK_ANALYZE, "record", "--no-bpf", "-o", trace.c_str(), "--", HK_RECORD_TARGET,
          "alloc", "5000", "sleep", "20000", nullptr);
    _exit(127);
  }
  // The trace gets its final name once the command runs.
  for (int i = 0; i < 500 && !fs::exists(trace); ++i) usleep(10000);
  usleep(200000);  // let the ring be found and read
  ASSERT_EQ(kill(rec, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(rec, &status, 0), rec);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  Summary s = read_trace(trace);
  EXPECT_FALSE(s.truncated);
  ASSERT_TRUE(s.footer);
  EXPECT_EQ(s.footer->exit_status, 128 + SIGTERM);
  EXPECT_GT(s.events_by_type[HK_EV_SS_MAP], 0u);
}
