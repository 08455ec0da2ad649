// The syscall probe against real workloads, as root: exact records for a
// known syscall sequence (both program sets), isolation from processes
// outside the tree, loss accounting with a tiny ring, the enter filter
// through BPF_PROG_TEST_RUN, and the refusal for an unprivileged user.
#include "expected_call.h"
#include "held_child.h"
#include "syscall_probe.h"
#include "syscall_probe_stash.h"

#include "syscall_probe.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace {

using hk::bpf::HeldChild;
using hk::bpf::ProbeOptions;
using hk::bpf::SyscallProbe;

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::unique_ptr<SyscallProbe> open_probe(const ProbeOptions& opts) {
  std::string why;
  int code = 0;
  auto probe = SyscallProbe::open(opts, &why, &code);
  EXPECT_TRUE(probe) << "exit code " << code << ": " << why;
  return probe;
}

// Raw syscalls only: these run in forked children of the test process.
void mmap_pairs(int n, size_t len) {
  for (int i = 0; i < n; ++i) {
    long p = syscall(SYS_mmap, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != -1) syscall(SYS_munmap, p, len);
  }
}

// Drains the probe until `child` has exited, then empties the ring.
std::vector<hk_sys_record> collect_until_exit(SyscallProbe& probe, HeldChild& child,
                                              int* status) {
  std::vector<hk_sys_record> out;
  auto keep = [&](const hk_sys_record& r) { out.push_back(r); };
  while (!child.try_wait(status)) probe.poll(20, keep);
  while (probe.poll(0, keep) > 0) {
  }
  std::sort(out.begin(), out.end(),
            [](const hk_sys_record& a, const hk_sys_record& b) { return a.seq < b.seq; });
  return out;
}

struct Expected {
  hk_expected_header header{};
  std::vector<hk_expected_call> calls;
};

Expected read_expected(const std::string& path) {
  Expected e;
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(&e.header), sizeof e.header);
  if (!in || e.header.magic != HK_EXPECTED_MAGIC || e.header.count > HK_EXPECTED_MAX) return {};
  e.calls.resize(e.header.count);
  in.read(reinterpret_cast<char*>(e.calls.data()),
          static_cast<std::streamsize>(e.calls.size() * sizeof(hk_expected_call)));
  if (!in) return {};
  return e;
}

bool is_marker(const hk_sys_record& r, uint64_t mark) {
  return r.kind == HK_SYS_CALL && r.nr == HK_NR_MADVISE && r.args[2] == mark;
}

class TempPath {
 public:
  TempPath() {
    char tmpl[] = "/tmp/hakmem-probe-test-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd >= 0) close(fd);
    path_ = tmpl;
  }
  ~TempPath() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- exact syscall sequence ------------------------------------------------

class ExactSequence : public testing::TestWithParam<bool> {};

TEST_P(ExactSequence, TraceHoldsExactlyTheProgramsCalls) {
  ProbeOptions opts;
  opts.force_raw_tp = GetParam();
  opts.user_stacks = true;  // the test checks the stacks too
  opts.faults = false;       // the exact calls; faults have their own test
  auto probe = open_probe(opts);
  ASSERT_TRUE(probe);
  EXPECT_STREQ(probe->attach_kind(), GetParam() ? "raw_tp" : "tp_btf");

  TempPath out;
  HeldChild child([&] {
    execl(HK_SEQUENCE_HELPER, HK_SEQUENCE_HELPER, out.path().c_str(), nullptr);
    return 127;
  });
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(probe->trace_tgid(child.pid()));
  ASSERT_TRUE(child.release());
  int status = 0;
  const std::vector<hk_sys_record> recs = collect_until_exit(*probe, child, &status);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "helper status " << status;
  const Expected ex = read_expected(out.path());
  ASSERT_FALSE(ex.calls.empty()) << "helper wrote no valid expectation file";

  EXPECT_EQ(probe->lost(), 0u);
  for (size_t i = 0; i < recs.size(); ++i) ASSERT_EQ(recs[i].seq, i) << "gap in seq";

  const pid_t helper = child.pid();
  auto begin = std::find_if(recs.begin(), recs.end(),
                            [](auto& r) { return is_marker(r, HK_MARK_BEGIN); });
  auto end = std::find_if(recs.begin(), recs.end(),
                          [](auto& r) { return is_marker(r, HK_MARK_END); });
  ASSERT_NE(begin, recs.end());
  ASSERT_NE(end, recs.end());
  ASSERT_LT(begin, end);
  // The tree was traced from before exec: its exec is seen (before the
  // sequence, with the loader's own mmaps), and so is its exit.
  EXPECT_TRUE(std::any_of(recs.begin(), begin, [&](auto& r) {
    return r.kind == HK_SYS_EXEC && r.pid == static_cast<uint32_t>(helper);
  }));
  // Exit is reported once per process (when its tgid leaves the map), not
  // per thread; a new thread is no fork.
  EXPECT_EQ(std::count_if(end, recs.end(),
                          [&](auto& r) {
                            return r.kind == HK_SYS_EXIT &&
                                   r.pid == static_cast<uint32_t>(helper);
                          }),
            1);
  std::map<uint32_t, int> exits;
  for (const hk_sys_record& r : recs)
    if (r.kind == HK_SYS_EXIT) ++exits[r.pid];
  for (const auto& [pid, n] : exits) EXPECT_EQ(n, 1) << "exit records for pid " << pid;
  // pthread_create ran between exec and the begin marker: no fork record.
  EXPECT_TRUE(std::none_of(recs.begin(), begin, [&](auto& r) {
    return r.kind == HK_SYS_FORK && r.pid == static_cast<uint32_t>(helper) &&
           r.args[0] == static_cast<uint64_t>(helper);
  }));

  const std::vector<hk_sys_record> seq(begin, end + 1);
  ASSERT_EQ(seq.size(), ex.calls.size()) << "records between the markers differ in number";
  size_t with_stack = 0;
  for (size_t i = 0; i < seq.size(); ++i) {
    const hk_sys_record& r = seq[i];
    const hk_expected_call& e = ex.calls[i];
    SCOPED_TRACE("entry " + std::to_string(i) + " kind " + std::to_string(e.kind) + " nr " +
                 std::to_string(e.nr));
    ASSERT_EQ(r.kind, e.kind);
    EXPECT_EQ(r.pid, e.pid);
    EXPECT_EQ(r.tid, e.tid);
    EXPECT_LE(e.t0, r.enter_ns);
    EXPECT_LE(r.enter_ns, r.exit_ns);
    EXPECT_LE(r.exit_ns, e.t1);
    if (e.kind == HK_SYS_FORK) {
      EXPECT_EQ(r.args[0], e.args[0]);  // child tgid
      EXPECT_EQ(r.args[1], e.args[1]);  // child tid
      continue;
    }
    if (e.kind != HK_SYS_CALL) continue;
    EXPECT_EQ(r.nr, e.nr);
    for (uint32_t a = 0; a < e.nargs; ++a) EXPECT_EQ(r.args[a], e.args[a]) << "arg " << a;
    EXPECT_EQ(r.ret, e.ret);
    // Every call goes through syscall(3) from the helper's own code, so the
    // return address on the stack is inside the helper's text.
    EXPECT_GE(r.caller, ex.header.text_start);
    EXPECT_LT(r.caller, ex.header.text_end);
    // A stack whose hash bucket is taken by another stack gets no id.
    if (r.stack_id < 0) {
      EXPECT_EQ(r.stack_id, -EEXIST);
      continue;
    }
    ++with_stack;
    const std::vector<uint64_t> frames = probe->stack(r.stack_id);
    EXPECT_FALSE(frames.empty());
    EXPECT_TRUE(std::any_of(frames.begin(), frames.end(), [&](uint64_t ip) {
      return ip >= ex.header.text_start && ip < ex.header.text_end;
    })) << "no frame of the user stack lies in the helper";
  }
  EXPECT_GT(with_stack, seq.size() / 2) << "most calls should have a user stack";
}

INSTANTIATE_TEST_SUITE_P(Attach, ExactSequence, testing::Values(false, true),
                         [](const testing::TestParamInfo<bool>& p) {
                           return p.param ? "raw_tp" : "tp_btf";
                         });

// --- isolation ---------------------------------------------------------------

TEST(Isolation, ProcessOutsideTheTreeNeverAppears) {
  auto probe = open_probe({});
  ASSERT_TRUE(probe);
  struct Shared {
    std::atomic<int> stop;
    std::atomic<long> iterations;
  };
  void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* shared = new (mem) Shared{};

  HeldChild outsider([&] {
    while (!shared->stop.load()) {
      mmap_pairs(1, 4096);
      shared->iterations.fetch_add(1);
    }
    return 0;
  });
  ASSERT_TRUE(outsider.release());
  while (shared->iterations.load() == 0) usleep(100);

  constexpr int kPairs = 100;
  HeldChild traced([&] {
    // Interleave with the outsider call by call, so both surely overlap.
    const long start = shared->iterations.load();
    for (int i = 0; i < kPairs; ++i) {
      mmap_pairs(1, 8192);
      for (int spin = 0; shared->iterations.load() <= start + i && spin < 100000; ++spin)
        sched_yield();
    }
    return 0;
  });
  ASSERT_TRUE(probe->trace_tgid(traced.pid()));
  const long before = shared->iterations.load();
  ASSERT_TRUE(traced.release());
  int status = 0;
  std::vector<hk_sys_record> recs = collect_until_exit(*probe, traced, &status);
  const long during = shared->iterations.load() - before;
  shared->stop.store(1);
  outsider.wait();
  probe->poll(0, [&](const hk_sys_record& r) { recs.push_back(r); });

  EXPECT_GT(during, 0) << "the outsider did not run alongside the traced child";
  size_t calls = 0;
  for (const hk_sys_record& r : recs) {
    EXPECT_NE(r.pid, static_cast<uint32_t>(outsider.pid()));
    EXPECT_NE(r.pid, static_cast<uint32_t>(getpid()));
    if (r.kind == HK_SYS_CALL) {
      EXPECT_EQ(r.pid, static_cast<uint32_t>(traced.pid()));
      EXPECT_EQ(r.args[1], 8192u);
      ++calls;
    }
  }
  EXPECT_EQ(calls, 2u * kPairs);
  EXPECT_EQ(probe->lost(), 0u);
  munmap(mem, sizeof(Shared));
}

// --- page faults ---------------------------------------------------------------

// The child writes every page of a fresh mapping once: the probe must see at
// least one fault per page inside it, one in 8 of them timed, between the
// mmap and the munmap, summed into runs of one granule, and an RSS sample
// that saw them.
class Faults : public testing::TestWithParam<bool> {};

TEST_P(Faults, EveryTouchedPageFaultsOnceInsideItsMapping) {
  ProbeOptions opts;
  opts.force_raw_tp = GetParam();
  auto probe = open_probe(opts);
  ASSERT_TRUE(probe);
  ASSERT_TRUE(probe->faults()) << "the kernel refused page_fault_user/rss_stat";
  constexpr size_t kPages = 2048;  // 8 MiB: four 2 MiB granules
  HeldChild child([&] {
    const size_t len = kPages * 4096;
    long p = syscall(SYS_mmap, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == -1) return 1;
    for (size_t i = 0; i < kPages; ++i) reinterpret_cast<volatile char*>(p)[i * 4096] = 1;
    syscall(SYS_munmap, p, len);
    return 0;
  });
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(probe->trace_tgid(child.pid()));
  ASSERT_TRUE(child.release());
  int status = 0;
  const std::vector<hk_sys_record> recs = collect_until_exit(*probe, child, &status);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const hk_sys_record* map = nullptr;
  const hk_sys_record* unmap = nullptr;
  for (const hk_sys_record& r : recs) {
    if (r.kind != HK_SYS_CALL) continue;
    if (r.nr == HK_NR_MMAP && r.args[1] == kPages * 4096) map = &r;
    if (r.nr == HK_NR_MUNMAP && map && r.args[0] == uint64_t(map->ret)) unmap = &r;
  }
  ASSERT_TRUE(map && unmap);
  const uint64_t lo = uint64_t(map->ret), hi = lo + kPages * 4096;
  uint64_t inside = 0, timed = 0, runs = 0, writes = 0, rss_peak = 0;
  for (const hk_sys_record& r : recs) {
    if (r.kind == HK_SYS_RSS) rss_peak = std::max<uint64_t>(rss_peak, r.args[4]);
    if (r.kind != HK_SYS_FAULTS || r.args[0] < lo || r.args[0] >= hi) continue;
    ++runs;
    EXPECT_EQ(r.args[0] >> 21, r.args[1] >> 21) << "a run leaves its granule";
    EXPECT_LE(r.args[1], hi - 1);
    EXPECT_GE(r.enter_ns, map->exit_ns);
    EXPECT_LE(r.exit_ns, unmap->enter_ns);
    EXPECT_LE(r.args[3], r.args[2]);
    inside += r.args[2];
    timed += r.args[3];
    writes += r.args[5];
  }
  EXPECT_GE(inside, kPages);
  EXPECT_LE(inside, kPages + 16);  // a page faults once; a few may retry
  EXPECT_GE(writes, kPages);
  // A run's first fault and one in 8 after it are timed, and most
  // anonymous faults end in an rss_stat update.
  constexpr uint64_t kTimeEvery = 8;
  EXPECT_GE(timed, kPages / kTimeEvery * 9 / 10);
  EXPECT_LE(timed, inside / kTimeEvery + runs) << "more faults timed than sampled";
  EXPECT_GE(runs, 4u);  // one granule per run at least
  EXPECT_GE(rss_peak, kPages) << "an RSS sample saw the touched pages";
}

INSTANTIATE_TEST_SUITE_P(Attach, Faults, testing::Values(false, true),
                         [](const auto& info) { return info.param ? "raw_tp" : "tp_btf"; });

// --- drops ---------------------------------------------------------------------

TEST(Drops, TinyRingCountsLossesAndSeqGapsMatchThem) {
  ProbeOptions opts;
  opts.ringbuf_bytes = 4096;
  opts.user_stacks = false;
  opts.faults = false;  // exactly kEvents records
  auto probe = open_probe(opts);
  ASSERT_TRUE(probe);

  constexpr int kPairs = 2000;
  HeldChild child([] {
    mmap_pairs(kPairs, 4096);
    return 0;
  });
  ASSERT_TRUE(probe->trace_tgid(child.pid()));
  ASSERT_TRUE(child.release());
  // Nobody reads while the burst runs, so the 4 KiB ring must overflow.
  ASSERT_EQ(child.wait(), 0);
  std::vector<hk_sys_record> recs;
  while (probe->poll(0, [&](const hk_sys_record& r) { recs.push_back(r); }) > 0) {
  }

  const uint64_t lost = probe->lost();
  constexpr uint64_t kEvents = 2 * kPairs + 1;  // the calls and the exit
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(recs.size() + lost, kEvents);
  std::vector<uint64_t> seqs;
  for (const hk_sys_record& r : recs) {
    seqs.push_back(r.seq);
    EXPECT_LT(r.stack_id, 0) << "user stacks were off";
  }
  std::sort(seqs.begin(), seqs.end());
  EXPECT_EQ(std::adjacent_find(seqs.begin(), seqs.end()), seqs.end()) << "duplicate seq";
  ASSERT_FALSE(seqs.empty());
  EXPECT_LT(seqs.back(), kEvents);
  // Every missing number in [0, kEvents) is one counted loss.
  EXPECT_EQ(kEvents - seqs.size(), lost);
}

// --- the enter filter through BPF_PROG_TEST_RUN ------------------------------------

TEST(TestRun, EnterStashesOnlyWantedCallsOfTracedProcesses) {
  syscall_probe* skel = syscall_probe__open();
  ASSERT_TRUE(skel);
  bpf_program* progs[] = {skel->progs.btf_sys_enter, skel->progs.btf_sys_exit,
                          skel->progs.btf_fork,      skel->progs.btf_exec,
                          skel->progs.btf_exit,      skel->progs.raw_sys_exit,
                          skel->progs.raw_fork,      skel->progs.raw_exec,
                          skel->progs.raw_exit};
  for (bpf_program* p : progs) bpf_program__set_autoload(p, false);
  ASSERT_EQ(syscall_probe__load(skel), 0);

  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  ASSERT_GE(pidfd, 0);
  // The raw_tp context: {struct pt_regs *regs, long id}. The enter program
  // only uses the number; the registers are read at exit.
  user_regs_struct regs{};
  auto run_enter = [&](long nr) {
    __u64 args[2] = {reinterpret_cast<__u64>(&regs), static_cast<__u64>(nr)};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof args);
    return bpf_prog_test_run_opts(bpf_program__fd(skel->progs.raw_sys_enter), &opts);
  };
  auto stash = [&](hk_enter_stash* out) {
    return bpf_map__lookup_elem(skel->maps.inflight, &pidfd, sizeof pidfd, out, sizeof *out,
                                0) == 0;
  };
  hk_enter_stash s{};

  ASSERT_EQ(run_enter(HK_NR_MMAP), 0);
  EXPECT_FALSE(stash(&s)) << "an untraced process was stashed";

  const uint32_t self = static_cast<uint32_t>(getpid());
  const uint8_t one = 1;
  ASSERT_EQ(bpf_map__update_elem(skel->maps.traced_tgids, &self, sizeof self, &one, sizeof one,
                                 BPF_ANY),
            0);
  for (long other : {0L, 1L, 10L, 63L, 64L, 1000L, -1L}) {
    ASSERT_EQ(run_enter(other), 0);
    EXPECT_FALSE(stash(&s)) << "syscall " << other << " was stashed";
  }

  const uint64_t t0 = now_ns();
  ASSERT_EQ(run_enter(HK_NR_MREMAP), 0);
  const uint64_t t1 = now_ns();
  ASSERT_TRUE(stash(&s));
  EXPECT_EQ(s.nr, static_cast<uint32_t>(HK_NR_MREMAP));
  EXPECT_LE(t0, s.enter_ns);
  EXPECT_LE(s.enter_ns, t1);

  const hk_enter_stash kept = s;
  ASSERT_EQ(run_enter(0), 0);
  ASSERT_TRUE(stash(&s));
  EXPECT_EQ(s.nr, kept.nr) << "an unwanted syscall overwrote the pending one";
  EXPECT_EQ(s.enter_ns, kept.enter_ns);

  for (long nr : {HK_NR_MMAP, HK_NR_MUNMAP, HK_NR_BRK, HK_NR_MADVISE}) {
    ASSERT_EQ(run_enter(nr), 0);
    ASSERT_TRUE(stash(&s));
    EXPECT_EQ(s.nr, static_cast<uint32_t>(nr));
  }
  close(pidfd);
  syscall_probe__destroy(skel);
}

// --- refusal without privilege -------------------------------------------------------

// What SyscallProbe::open said in a child that first ran `setup`.
struct RefusalSeen {
  int exit_code = 0;  // the child's: 100 setup failed, 101 the probe opened
  std::string why;
};

// Opens the probe in a held child after `setup` (which must return false if
// it could not arrange the refusal), and returns its exit code and reason.
RefusalSeen refusal_in_child(const std::function<bool()>& setup) {
  TempPath reason;
  chmod(reason.path().c_str(), 0666);  // the child may have dropped to nobody
  HeldChild child([&] {
    if (!setup()) return 100;
    std::string why;
    int code = 0;
    if (SyscallProbe::open({}, &why, &code)) return 101;
    int fd = open(reason.path().c_str(), O_WRONLY | O_TRUNC);
    if (fd < 0 || write(fd, why.data(), why.size()) != static_cast<ssize_t>(why.size()))
      return 102;
    close(fd);
    return code;
  });
  RefusalSeen seen;
  EXPECT_TRUE(child.release());
  const int status = child.wait();
  EXPECT_TRUE(WIFEXITED(status));
  seen.exit_code = WEXITSTATUS(status);
  std::ifstream in(reason.path());
  seen.why.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return seen;
}

TEST(Refusal, UnprivilegedUserGetsCodeThreeAndAHint) {
  const RefusalSeen r = refusal_in_child([] {
    return setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0;
  });
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.why.find("sudo"), std::string::npos) << r.why;
  EXPECT_NE(r.why.find("--no-bpf"), std::string::npos) << r.why;
  EXPECT_EQ(r.why.find('\n'), std::string::npos) << "the reason must be one line";
}

// In a private mount namespace, an empty tmpfs hides the kernel's BTF.
TEST(Refusal, NoKernelBtfGivesCodeFour) {
  const RefusalSeen r = refusal_in_child([] {
    return unshare(CLONE_NEWNS) == 0 &&
           mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
           mount("tmpfs", "/sys/kernel/btf", "tmpfs", 0, nullptr) == 0;
  });
  if (r.exit_code == 100) GTEST_SKIP() << "cannot hide /sys/kernel/btf here";
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.why.find("BTF"), std::string::npos) << r.why;
  EXPECT_NE(r.why.find("--no-bpf"), std::string::npos) << r.why;
  EXPECT_EQ(r.why.find('\n'), std::string::npos) << "the reason must be one line";
}

// Makes bpf(2) fail with EPERM in this process, for one command or all.
constexpr int kAnyBpfCommand = -1;
bool deny_bpf_commands(int command) {
  const bool any = command == kAnyBpfCommand;
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
      // With any, both branches lead to the refusal.
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<__u32>(command), 0,
               static_cast<__u8>(any ? 0 : 1)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// tp_btf programs attach through BPF_LINK_CREATE, raw_tp ones through
// BPF_RAW_TRACEPOINT_OPEN: refusing the first must fall back to the second.
TEST(Fallback, RawTpWhenTpBtfCannotAttach) {
  HeldChild child([] {
    if (!deny_bpf_commands(BPF_LINK_CREATE)) return 100;
    std::string why;
    int code = 0;
    auto probe = SyscallProbe::open({}, &why, &code);
    if (!probe) return 101;
    return std::string(probe->attach_kind()) == "raw_tp" ? 0 : 102;
  });
  ASSERT_TRUE(child.release());
  const int status = child.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "101: no probe at all, 102: not raw_tp";
}

// A child that keeps root but whose bpf(2) calls fail: the loader must
// answer with code 5 and a one-line reason built from libbpf's first error.
TEST(Refusal, LoadFailureGivesCodeFiveAndOneLineReason) {
  const RefusalSeen r = refusal_in_child([] { return deny_bpf_commands(kAnyBpfCommand); });
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.why.find("could not load the eBPF probe"), std::string::npos) << r.why;
  EXPECT_NE(r.why.find("Operation not permitted"), std::string::npos) << r.why;
  EXPECT_NE(r.why.find("--no-bpf"), std::string::npos) << r.why;
  EXPECT_EQ(r.why.find('\n'), std::string::npos) << "the reason must be one line: " << r.why;
}

}  // namespace
