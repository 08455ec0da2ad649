// `hakmem-analyze attach PID`, end to end, on attach_target started outside
// hakmem: without the preload (kernel view only), under LD_PRELOAD alone
// (both streams, from the attach on, its forked children included), and
// the refusals. Tests that need the probe exit 77 (skipped) when it cannot
// load, or fail when HAKMEM_REQUIRE_BPF=1.
#include "subprocess.h"
#include "temp_dir.h"
#include "trace/trace_file.h"

#include <hakmem/events.h>
#include <hakmem/syscall_record.h>

#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace hk::analyze;

namespace {

// attach_target, running: started here, but not by hakmem-analyze.
class Target {
 public:
  Target(const std::string& mode, bool preload) {
    int out[2];
    if (pipe(out) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      unsetenv("HAKMEM_RING");
      if (preload) setenv("LD_PRELOAD", HK_PRELOAD_LIB, 1);
      else unsetenv("LD_PRELOAD");
      execl(HK_ATTACH_TARGET, HK_ATTACH_TARGET, "30", "100", mode.c_str(), (char*)nullptr);
      _exit(127);
    }
    close(out[1]);
    out_ = fdopen(out[0], "r");
    char line[64] = {};
    ready_ = fgets(line, sizeof line, out_) && std::string(line).rfind("ready", 0) == 0;
  }
  ~Target() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    fclose(out_);
  }
  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }
  // Reads one interval line; its operation count, or -1 at EOF.
  long long next_interval() {
    char line[64];
    if (!fgets(line, sizeof line, out_)) return -1;
    unsigned long long ms = 0, ops = 0;
    return sscanf(line, "%llu %llu", &ms, &ops) == 2 ? (long long)ops : -1;
  }
  bool alive() const { return kill(pid_, 0) == 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  bool ready_ = false;
};

struct TempDir : hk_test::TempDir {
  TempDir() : hk_test::TempDir("/tmp/hk-attach-test") {}
};

hk_test::RunResult attach(const std::vector<std::string>& args, bool unprivileged = false) {
  std::vector<std::string> argv;
  if (unprivileged && geteuid() == 0) argv = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  argv.push_back(HK_ANALYZE);
  argv.push_back("attach");
  argv.insert(argv.end(), args.begin(), args.end());
  hk_test::RunSpec spec;
  spec.argv = argv;
  spec.timeout_s = 20;
  return hk_test::run(spec);
}

struct Summary {
  std::map<uint32_t, std::vector<hk_event>> events_by_pid;
  std::map<uint32_t, size_t> calls_by_nr;  // of the attached pid
  size_t rings_opened = 0, rings_closed = 0;
  TraceMeta meta;
  bool complete = false;
};

Summary read_trace(const std::string& path, uint32_t pid) {
  Summary s;
  TraceReader r(path);
  TraceChunk c;
  while (r.next(c)) {
    for (const auto& e : c.events) s.events_by_pid[c.source_pid].push_back(e);
    for (const auto& k : c.syscalls)
      if (k.kind == HK_SYS_CALL && k.pid == pid) ++s.calls_by_nr[k.nr];
    if (c.ring) (c.ring->state == 1 ? s.rings_opened : s.rings_closed)++;
    if (c.footer) s.complete = true;
  }
  s.meta = r.meta();
  return s;
}

void skip_unless_bpf(const hk_test::RunResult& r) {
  if (r.exit_code < 3 || r.exit_code > 5 || r.term_signal) return;
  const char* v = std::getenv("HAKMEM_REQUIRE_BPF");
  if (v && std::string(v) == "1") FAIL() << "HAKMEM_REQUIRE_BPF=1 but the probe did not load: " << r.err;
  fprintf(stderr, "skipping: the eBPF probe cannot load here: %s", r.err.c_str());
  std::exit(77);
}

// Ring directories attach made and left behind.
std::set<std::string> attach_dirs() {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator("/dev/shm"))
    if (e.path().filename().string().rfind("hakmem-attach.", 0) == 0) out.insert(e.path());
  return out;
}

// Attaches to t for `seconds` with the probe and reads the trace back.
Summary attach_with_probe(const Target& t, const TempDir& d, const std::string& seconds, std::string* err) {
  const auto trace = d.file("probe.trace");
  auto r = attach({std::to_string(t.pid()), "-o", trace, "--duration", seconds});
  skip_unless_bpf(r);
  *err = r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Summary s = read_trace(trace, uint32_t(t.pid()));
  EXPECT_TRUE(s.complete);
  return s;
}

}  // namespace

TEST(Attach, KernelViewOfAProgramWithoutThePreload) {
  Target t("mmap", false);
  ASSERT_TRUE(t.ready());
  TempDir d;
  std::string err;
  Summary s = attach_with_probe(t, d, "0.5", &err);
  EXPECT_NE(err.find("does not run under libhakmem.so"), std::string::npos) << err;
  EXPECT_EQ(s.meta["attach.pid"], std::to_string(t.pid()));
  EXPECT_EQ(s.meta["preload"], "0");
  // 64 KiB mmap/munmap pairs, thousands a second.
  EXPECT_GT(s.calls_by_nr[HK_NR_MMAP], 100u);
  EXPECT_GT(s.calls_by_nr[HK_NR_MUNMAP], 100u);
  EXPECT_TRUE(s.events_by_pid.empty());
  EXPECT_TRUE(t.alive());
}

TEST(Attach, BothStreamsOfAProgramUnderThePreload) {
  const auto dirs_before = attach_dirs();
  Target t("fork", true);
  ASSERT_TRUE(t.ready());
  TempDir d;
  std::string err;
  // Long enough for the target's once-a-second fork.
  Summary s = attach_with_probe(t, d, "1.3", &err);
  EXPECT_EQ(s.meta["preload"], "1");
  EXPECT_NE(s.meta["attach.allocator"].find("ring opened"), std::string::npos) << s.meta["attach.allocator"];
  // The kernel's stream: the allocator's ring mapping at least.
  EXPECT_GE(s.calls_by_nr[HK_NR_MMAP], 1u);
  // The allocator's stream, from the attach on: it opens with where the
  // allocator stood, then its configuration, then what it does.
  const auto& evs = s.events_by_pid[uint32_t(t.pid())];
  ASSERT_GE(evs.size(), 3u);
  EXPECT_EQ(evs[0].type, HK_EV_ATTACH);
  EXPECT_EQ(evs[0].addr, uint64_t(t.pid()));
  EXPECT_GT(evs[0].len, 0u) << "the allocator had memory mapped before the attach";
  std::map<uint16_t, size_t> types;
  for (const auto& e : evs) ++types[e.type];
  EXPECT_EQ(types[HK_EV_ATTACH], 1u);
  EXPECT_GE(types[HK_EV_CONFIG], 1u);
  EXPECT_GT(types[HK_EV_DRAIN] + types[HK_EV_SNAPSHOT], 0u);
  // The fork made after the attach has its own ring.
  EXPECT_GE(s.events_by_pid.size(), 2u);
  EXPECT_EQ(s.rings_opened, s.rings_closed);
  // Detached: the program runs on, with no ring file or directory left.
  EXPECT_TRUE(t.alive());
  EXPECT_EQ(attach_dirs(), dirs_before);
  for (int i = 0; i < 3; ++i) EXPECT_GT(t.next_interval(), 0);
  // Its gate is closed again: a second attach gets a ring of its own.
  const auto again = d.file("again.trace");
  auto r = attach({std::to_string(t.pid()), "-o", again, "--duration", "0.3", "--no-bpf"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Summary s2 = read_trace(again, uint32_t(t.pid()));
  const auto& evs2 = s2.events_by_pid[uint32_t(t.pid())];
  ASSERT_FALSE(evs2.empty());
  EXPECT_EQ(evs2[0].type, HK_EV_ATTACH);
  EXPECT_EQ(evs2[0].c, 2u) << "the second request";
  EXPECT_TRUE(t.alive());
}

TEST(Attach, RefusesAPidThatDoesNotExist) {
  // A pid past pid_max cannot exist.
  std::ifstream f("/proc/sys/kernel/pid_max");
  long max = 0;
  f >> max;
  auto r = attach({std::to_string(max + 1), "--no-bpf", "-o", "/dev/null"});
  EXPECT_EQ(r.exit_code, 8) << r.err;
  EXPECT_NE(r.err.find("no process has pid"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Attach, RefusesAProcessItMayNotTrace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run as nobody against root's pid 1";
  auto r = attach({"1", "--no-bpf", "-o", "/dev/null"}, true);
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find("not allowed to trace pid 1"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Attach, RefusesAKernelThread) {
  // kthreadd is pid 2 wherever the kernel has it in our pid namespace.
  std::ifstream comm("/proc/2/comm");
  std::string name;
  if (!(comm >> name) || name != "kthreadd") GTEST_SKIP() << "no kthreadd at pid 2 here";
  auto r = attach({"2", "--no-bpf", "-o", "/dev/null"});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find("kernel thread"), std::string::npos) << r.err;
}
