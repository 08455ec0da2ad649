// A child process started on hold, so that its pid can be added to the
// probe's traced-tgid map before it runs (and before it execs, so that the
// dynamic loader's own mmaps are seen too).
//
// Contract: called from one thread of the parent. fork_held() forks; the
// child blocks reading a pipe and calls `run` only once release() is called,
// then _exits with run's result. If the parent closes or destroys the
// HeldChild without releasing it, the child exits with 127 without running.
// `run` executes in a forked child: keep it to async-signal-safe work (exec,
// raw syscalls) when the parent has other threads.
#pragma once

#include <sys/types.h>

#include <functional>

namespace hk::bpf {

class HeldChild {
 public:
  // pid() < 0 when fork or pipe failed (errno is set).
  explicit HeldChild(const std::function<int()>& run);
  ~HeldChild();
  HeldChild(const HeldChild&) = delete;
  HeldChild& operator=(const HeldChild&) = delete;

  pid_t pid() const { return pid_; }
  bool release();  // lets the child run; false if it is already gone
  int wait();      // waitpid status, or -1
  // Non-blocking wait: true once the child has exited, with its status.
  bool try_wait(int* status);

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;
  bool reaped_ = false;
};

}  // namespace hk::bpf
