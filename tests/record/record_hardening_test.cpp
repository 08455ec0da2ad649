// `record` against hostile paths and its own faults (issue 12):
//  - a link at -o's path (to a file, dangling) is refused and left alone;
//    a regular file there becomes FILE.old, unchanged; a file or link
//    planted at the temporary FILE.<pid>.partial is refused, never written;
//    traces are created 0600;
//  - rings planted in the ring directory (another uid's, a link) are not
//    read as the target's;
//  - record SIGKILLed partway leaves a trace that reads up to the cut and a
//    report that says so; a full disk gives one line and exit code 7 while
//    the target finishes; a target SIGKILLed mid-allocation loses no
//    committed ring record.
// Runs as root (CI is root): the planting and the tmpfs need it.
#include "subprocess.h"
#include "trace/trace_file.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <map>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using namespace hk::analyze;

namespace {

struct Scratch {
  std::string dir;
  Scratch() {
    char t[] = "/tmp/hk-hardening.XXXXXX";
    dir = mkdtemp(t);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string at(const std::string& name) const { return dir + "/" + name; }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

std::vector<std::string> record_argv(const std::vector<std::string>& opts,
                                     const std::vector<std::string>& cmd) {
  std::vector<std::string> argv{HK_ANALYZE, "record"};
  argv.insert(argv.end(), opts.begin(), opts.end());
  argv.push_back("--");
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  return argv;
}

hk_test::RunResult run(const std::vector<std::string>& argv) {
  hk_test::RunSpec spec;
  spec.argv = argv;
  return hk_test::run(spec);
}

// record started by hand, so that the test knows its pid before it runs
// (for planting at FILE.<pid>.partial) or can SIGKILL it partway. It gets
// its own process group so that the target it leaves behind can be killed.
class Held {
 public:
  Held(const std::vector<std::string>& argv, const std::string& err_path) {
    int go[2];
    if (pipe(go) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      close(go[1]);
      char c;
      if (read(go[0], &c, 1) != 1) _exit(126);
      int fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    setpgid(pid_, pid_);
    close(go[0]);
    go_ = go[1];
  }
  ~Held() {
    if (go_ >= 0) close(go_);
    kill(-pid_, SIGKILL);
    if (!reaped_) waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  void release() {
    if (write(go_, "g", 1) != 1) throw std::runtime_error("write");
    close(go_);
    go_ = -1;
  }
  int wait() {
    int st = 0;
    waitpid(pid_, &st, 0);
    reaped_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
  bool reaped_ = false;
};

struct TraceSummary {
  size_t chunks = 0;
  std::map<uint32_t, uint64_t> events_by_pid;
  std::vector<hk_trace_ring_info> closed;
  size_t rings_opened = 0;
  std::optional<hk_trace_footer> footer;
  bool truncated = false;
  std::string reason;
};

TraceSummary summarize(const std::string& path) {
  TraceSummary s;
  TraceReader r(path);
  s.chunks = 1;  // META, read by the constructor
  TraceChunk c;
  while (r.next(c)) {
    ++s.chunks;
    if (!c.events.empty()) s.events_by_pid[c.source_pid] += c.events.size();
    if (c.ring) {
      if (c.ring->state == 1) ++s.rings_opened;
      else s.closed.push_back(*c.ring);
    }
    if (c.footer) s.footer = c.footer;
  }
  s.truncated = r.truncated();
  s.reason = r.truncation_reason();
  return s;
}

// What is left in a directory besides `keep`: no stray .partial files.
std::vector<std::string> others(const std::string& dir, const std::set<std::string>& keep) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (!keep.count(e.path().filename().string())) out.push_back(e.path().filename().string());
  return out;
}

// ---------------------------------------------------------------- -o paths

TEST(HostileOutput, LinkToAFileIsRefusedAndTheFileUnchanged) {
  Scratch d;
  const auto victim = d.at("victim"), out = d.at("t.trace");
  spit(victim, "precious\n");
  ASSERT_EQ(symlink(victim.c_str(), out.c_str()), 0);
  auto r = run(record_argv({"--no-bpf", "-o", out}, {HK_RECORD_TARGET, "alloc", "100"}));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(count(r.err, "\n"), 1u) << r.err;
  EXPECT_NE(r.err.find("symbolic link"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_TRUE(fs::is_symlink(out));
  EXPECT_EQ(others(d.dir, {"victim", "t.trace"}), std::vector<std::string>{});
}

TEST(HostileOutput, DanglingLinkIsRefusedAndNothingIsCreatedWhereItPoints) {
  Scratch d;
  const auto nowhere = d.at("nowhere"), out = d.at("t.trace");
  ASSERT_EQ(symlink(nowhere.c_str(), out.c_str()), 0);
  auto r = run(record_argv({"--no-bpf", "-o", out}, {HK_RECORD_TARGET, "alloc", "100"}));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(count(r.err, "\n"), 1u) << r.err;
  EXPECT_FALSE(fs::exists(fs::symlink_status(nowhere)));
  EXPECT_EQ(others(d.dir, {"t.trace"}), std::vector<std::string>{});
}

TEST(HostileOutput, ExistingFileBecomesOldUnchangedAndTheTraceIs0600) {
  Scratch d;
  const auto out = d.at("t.trace");
  spit(out, "not a trace, but someone's\n");
  auto r = run(record_argv({"--no-bpf", "-o", out}, {HK_RECORD_TARGET, "alloc", "100"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(slurp(out + ".old"), "not a trace, but someone's\n");
  struct stat st{};
  ASSERT_EQ(lstat(out.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(summarize(out).footer);
}

// Plants something at FILE.<pid>.partial before record runs, then checks
// record refused it (exit 7, one line naming it) and left it as it was.
void expect_partial_refused(const std::function<void(const std::string&)>& plant,
                            const std::function<void(const std::string&)>& check) {
  Scratch d;
  const auto out = d.at("t.trace");
  Held h(record_argv({"--no-bpf", "-o", out}, {HK_RECORD_TARGET, "alloc", "100"}), d.at("err"));
  const std::string partial = fmt::format("{}.{}.partial", out, h.pid());
  plant(partial);
  h.release();
  EXPECT_EQ(h.wait(), 7);
  const std::string err = slurp(d.at("err"));
  EXPECT_EQ(count(err, "\n"), 1u) << err;
  EXPECT_NE(err.find(partial), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(fs::symlink_status(out)));
  check(partial);
}

TEST(HostileOutput, FilePlantedAtTheTemporaryNameIsRefusedUntouched) {
  expect_partial_refused([](const std::string& p) { spit(p, "planted\n"); },
                         [](const std::string& p) { EXPECT_EQ(slurp(p), "planted\n"); });
}

TEST(HostileOutput, LinkPlantedAtTheTemporaryNameIsRefusedItsTargetUntouched) {
  Scratch v;
  const auto victim = v.at("victim");
  spit(victim, "precious\n");
  expect_partial_refused(
      [&](const std::string& p) { ASSERT_EQ(symlink(victim.c_str(), p.c_str()), 0); },
      [&](const std::string& p) {
        EXPECT_TRUE(fs::is_symlink(p));
        EXPECT_EQ(slurp(victim), "precious\n");
      });
}

TEST(HostileOutput, DanglingLinkAtTheTemporaryNameIsRefusedNothingCreated) {
  Scratch v;
  const auto nowhere = v.at("nowhere");
  expect_partial_refused(
      [&](const std::string& p) { ASSERT_EQ(symlink(nowhere.c_str(), p.c_str()), 0); },
      [&](const std::string&) { EXPECT_FALSE(fs::exists(fs::symlink_status(nowhere))); });
}

// ---------------------------------------------------------------- rings

TEST(HostileRings, PlantedRingsAreNotReadAsTheTargets) {
  if (geteuid() != 0) GTEST_SKIP() << "planting a ring owned by nobody needs root";
  Scratch d;
  const auto out = d.at("t.trace");
  auto r = run(record_argv({"--no-bpf", "-o", out},
                           {HK_RECORD_TARGET, "alloc", "1000", "plant", d.dir, "alloc", "1000"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The copy owned by nobody, and the link to a copy we own.
  EXPECT_EQ(count(r.err, "ignoring ring"), 2u) << r.err;
  EXPECT_NE(r.err.find("not a regular file owned by uid 0"), std::string::npos) << r.err;
  TraceSummary s = summarize(out);
  EXPECT_EQ(s.rings_opened, 1u);
  ASSERT_EQ(s.closed.size(), 1u);
  EXPECT_EQ(s.events_by_pid.size(), 1u);
  EXPECT_EQ(s.events_by_pid.begin()->second, s.closed[0].records_read);
  // Reading a ring writes its tail: the linked-to copy was never read.
  EXPECT_EQ(slurp(d.at("copy.ring")), slurp(d.at("pristine.ring")));
}

// ---------------------------------------------------------------- faults

TEST(RecorderFaults, SigkilledRecordLeavesATraceReadUpToTheCut) {
  Scratch d;
  const auto out = d.at("t.trace");
  Held h(record_argv({"--no-bpf", "-o", out},
                     {HK_RECORD_TARGET, "alloc", "10000000", "sleep", "10000"}),
         d.at("err"));
  h.release();
  // Chunks wait at most 100 ms in the recorder: after 800 ms the target's
  // allocation is written and it sleeps, so record is idle when killed.
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  kill(h.pid(), SIGKILL);
  EXPECT_EQ(h.wait(), 128 + SIGKILL);
  TraceSummary s = summarize(out);
  EXPECT_TRUE(s.truncated);
  EXPECT_FALSE(s.footer);
  uint64_t events = 0;
  for (const auto& [pid, n] : s.events_by_pid) events += n;
  EXPECT_GT(events, 1000u);
  // Every chunk before the cut was read: the reader stopped at the file's end.
  EXPECT_NE(s.reason.find(fmt::format("ends after {} chunks, at byte {}, without a footer",
                                      s.chunks, fs::file_size(out))),
            std::string::npos)
      << s.reason;
  auto rep = run({HK_ANALYZE, "report", out});
  EXPECT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_NE(rep.out.find("trace is truncated (" + s.reason + ")"), std::string::npos) << rep.out;
}

// A 256 KiB tmpfs as -o's directory: the trace outgrows it.
class FullDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    mnt_ = d_.at("full");
    fs::create_directory(mnt_);
    if (mount("hk-full", mnt_.c_str(), "tmpfs", 0, "size=256k") != 0)
      GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) umount2(mnt_.c_str(), MNT_DETACH);
  }
  Scratch d_;
  std::string mnt_;
  bool mounted_ = false;
};

TEST_F(FullDisk, GivesOneLineExitSevenAndAPartialTraceThatOpens) {
  const auto out = mnt_ + "/t.trace";
  // About 7k ring records (470 KiB of trace), most of them snapshots.
  auto r = run(record_argv({"--no-bpf", "-o", out}, {HK_RECORD_TARGET, "alloc", "40000000"}));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(count(r.err, "No space left on device"), 1u) << r.err;
  // The target was not disturbed: it ran to its end and exited 0.
  EXPECT_NE(r.err.find("exited with 0"), std::string::npos) << r.err;
  TraceSummary s = summarize(out);
  EXPECT_TRUE(s.truncated);
  EXPECT_GT(s.chunks, 1u);
  auto rep = run({HK_ANALYZE, "report", out});
  EXPECT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_NE(rep.out.find("trace is truncated"), std::string::npos) << rep.out;
}

TEST(RecorderFaults, TargetSigkilledMidAllocationLosesNoCommittedRecord) {
  Scratch d;
  const auto out = d.at("t.trace");
  constexpr int kThreads = 4;
  // A ring big enough that nothing drops: every record claimed is either
  // committed (and must be in the trace) or torn by the kill.
  auto r = run(record_argv({"--no-bpf", "--ring-size", "64M", "-o", out},
                           {HK_RECORD_TARGET, "threads", std::to_string(kThreads), "400"}));
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  TraceSummary s = summarize(out);
  EXPECT_FALSE(s.truncated);
  ASSERT_TRUE(s.footer);
  EXPECT_EQ(s.footer->exit_status, 128 + SIGKILL);
  ASSERT_EQ(s.closed.size(), 1u);
  const hk_trace_ring_info& ring = s.closed[0];
  EXPECT_GT(ring.records_read, 1000u);
  EXPECT_EQ(ring.dropped, 0u);
  EXPECT_LE(ring.torn, uint64_t(kThreads));
  EXPECT_EQ(s.events_by_pid[ring.pid], ring.records_read);
  auto rep = run({HK_ANALYZE, "report", out});
  EXPECT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_NE(rep.out.find("exit status 137"), std::string::npos) << rep.out;
}

}  // namespace
