// hakmem-probe-bench: runs one command under the syscall probe and prints
// what the probe saw. A benchmark driver for scripts/bench_probe.sh and a
// manual check of the probe; `hakmem-analyze record` is the real recorder.
#include "held_child.h"
#include "syscall_probe.h"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

namespace {

double now_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Counts {
  uint64_t by_kind[4] = {};
  uint64_t other = 0;
  uint64_t max_seq = 0;
  uint64_t total = 0;
  void add(const hk_sys_record& r) {
    if (r.kind < 4)
      ++by_kind[r.kind];
    else
      ++other;
    if (total == 0 || r.seq > max_seq) max_seq = r.seq;
    ++total;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run CMD under the hakmem syscall probe and report record and drop counts"};
  hk::bpf::ProbeOptions opts;
  bool no_stacks = false;
  std::vector<std::string> cmd;
  app.add_option("--ringbuf-bytes", opts.ringbuf_bytes, "BPF ring buffer size")
      ->capture_default_str();
  app.add_flag("--no-stacks", no_stacks, "do not collect user stacks");
  app.add_flag("--raw-tp", opts.force_raw_tp, "use the raw_tp programs instead of tp_btf");
  app.add_option("cmd", cmd, "command to run")->required();
  CLI11_PARSE(app, argc, argv);
  opts.user_stacks = !no_stacks;

  std::string why;
  int code = 0;
  auto probe = hk::bpf::SyscallProbe::open(opts, &why, &code);
  if (!probe) {
    fmt::print(stderr, "hakmem-probe-bench: {}\n", why);
    return code;
  }

  std::vector<char*> args;
  for (auto& s : cmd) args.push_back(s.data());
  args.push_back(nullptr);
  hk::bpf::HeldChild child([&] {
    execvp(args[0], args.data());
    return 127;
  });
  if (child.pid() < 0) {
    fmt::print(stderr, "hakmem-probe-bench: cannot start {}: {}\n", cmd[0], strerror(errno));
    return 6;
  }
  if (!probe->trace_tgid(child.pid())) {
    fmt::print(stderr, "hakmem-probe-bench: cannot seed the tgid map\n");
    return 5;
  }
  Counts counts;
  bool root_exited = false;  // its exit record arrives just before it is reapable
  auto on_record = [&](const hk_sys_record& r) {
    counts.add(r);
    if (r.kind == HK_SYS_EXIT && static_cast<pid_t>(r.pid) == child.pid()) root_exited = true;
  };
  const double t0 = now_seconds();
  child.release();
  int status = 0;
  while (!child.try_wait(&status)) {
    if (root_exited) {
      status = child.wait();
      break;
    }
    int rc = probe->poll(100, on_record);
    if (rc < 0 && rc != -EINTR) {
      fmt::print(stderr, "hakmem-probe-bench: ring buffer poll failed: {}\n", strerror(-rc));
      return 5;
    }
  }
  const double elapsed = now_seconds() - t0;
  while (probe->poll(0, on_record) > 0) {
  }
  const uint64_t lost = probe->lost();
  const uint64_t gaps = counts.total ? counts.max_seq + 1 - counts.total : 0;
  fmt::print(stderr,
             "hakmem-probe-bench: {} records (calls {}, fork {}, exec {}, exit {}), lost {}, "
             "seq gaps {}, attach {}, {:.3f} s\n",
             counts.total, counts.by_kind[HK_SYS_CALL], counts.by_kind[HK_SYS_FORK],
             counts.by_kind[HK_SYS_EXEC], counts.by_kind[HK_SYS_EXIT], lost, gaps,
             probe->attach_kind(), elapsed);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}
