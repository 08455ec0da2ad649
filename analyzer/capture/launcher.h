// Launcher: starts the command `record` traces, held until the probe is ready.
//
// Contract: used by `record` on its one thread. start() forks a child that
// blocks on a pipe before doing anything visible, so the caller can seed the
// probe's tgid map with child() first; release() lets it go on to drop
// privileges (when asked) and exec, and reports, in one line, whether the
// exec failed. The child never returns into the caller's code.
#pragma once

#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hk::analyze {

struct LaunchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Who the command runs as when `record` itself runs as root under sudo.
struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// SUDO_UID/SUDO_GID (and SUDO_USER's groups) when we are root and they are
// set and valid; otherwise nothing: the command runs as we do.
std::optional<Credentials> sudo_invoker();

struct LaunchSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::vector<std::string> env;   // complete "KEY=value" environment
  std::optional<Credentials> run_as;
};

class Launcher {
 public:
  Launcher() = default;
  ~Launcher();
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // Forks the held child; throws LaunchError if it cannot.
  void start(const LaunchSpec& spec);
  pid_t child() const { return pid_; }
  // Lets the child exec. Returns an empty string once the exec succeeded,
  // or the reason it failed (the child has then exited and been reaped).
  std::string release();

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;   // write end: one byte releases the child
  int err_fd_ = -1;  // read end, close-on-exec in the child: EOF = exec'd
  std::string what_;  // argv[0], for messages
};

}  // namespace hk::analyze
