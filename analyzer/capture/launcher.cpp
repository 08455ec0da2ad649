// Launcher: fork, hold, drop privileges, exec. See launcher.h.
#include "capture/launcher.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace hk::analyze {
namespace {

// What the child reports through the error pipe before it exits.
struct ChildFailure {
  int stage;  // kStage*
  int err;    // errno
};
constexpr int kStageGroups = 1, kStageGid = 2, kStageUid = 3, kStageExec = 4;

std::optional<unsigned> parse_id(const char* s) {
  if (!s || !*s) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s, s + std::strlen(s), v);
  if (ec != std::errc{} || *p) return std::nullopt;
  return v;
}

[[noreturn]] void child_fail(int fd, int stage) {
  ChildFailure f{stage, errno};
  // Nothing useful to do if the parent is gone; the exit code still says it.
  ssize_t ignored = write(fd, &f, sizeof f);
  (void)ignored;
  _exit(127);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::optional<Credentials> sudo_invoker() {
  if (geteuid() != 0) return std::nullopt;
  auto uid = parse_id(std::getenv("SUDO_UID"));
  auto gid = parse_id(std::getenv("SUDO_GID"));
  if (!uid || !gid || *uid == 0) return std::nullopt;
  Credentials c{*uid, *gid, {}};
  const char* user = std::getenv("SUDO_USER");
  if (user && *user) {
    int n = 64;
    for (int tries = 0; tries < 4; ++tries) {
      c.groups.resize(size_t(n));
      int want = n;
      if (getgrouplist(user, c.gid, c.groups.data(), &want) >= 0) {
        c.groups.resize(size_t(want));
        break;
      }
      c.groups.clear();
      n = want > n ? want : n * 2;
    }
  }
  if (c.groups.empty()) c.groups.push_back(c.gid);
  return c;
}

Launcher::~Launcher() {
  close_fd(go_fd_);
  close_fd(err_fd_);
}

void Launcher::start(const LaunchSpec& spec) {
  if (spec.argv.empty()) throw LaunchError("no command given");
  what_ = spec.argv[0];
  // Everything the child needs is built here: after fork it only makes
  // syscalls (the recorder may have libraries with threads of their own).
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int go[2], err[2];
  if (pipe2(go, O_CLOEXEC) != 0)
    throw LaunchError(fmt::format("pipe: {}", std::strerror(errno)));
  if (pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(go[0]);
    ::close(go[1]);
    throw LaunchError(fmt::format("pipe: {}", std::strerror(e)));
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {go[0], go[1], err[0], err[1]}) ::close(fd);
    throw LaunchError(fmt::format("fork: {}", std::strerror(e)));
  }
  if (pid == 0) {
    ::close(go[1]);
    ::close(err[0]);
    // The recorder's own signal handling must not leak into the command.
    for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE}) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    char b;
    ssize_t r;
    do r = read(go[0], &b, 1);
    while (r < 0 && errno == EINTR);
    if (r != 1) _exit(127);  // the recorder gave up before releasing us
    ::close(go[0]);
    if (spec.run_as) {
      const Credentials& c = *spec.run_as;
      if (setgroups(c.groups.size(), c.groups.data()) != 0) child_fail(err[1], kStageGroups);
      if (setgid(c.gid) != 0) child_fail(err[1], kStageGid);
      if (setuid(c.uid) != 0) child_fail(err[1], kStageUid);
    }
    execvpe(argv[0], argv.data(), envp.data());
    child_fail(err[1], kStageExec);
  }
  ::close(go[0]);
  ::close(err[1]);
  pid_ = pid;
  go_fd_ = go[1];
  err_fd_ = err[0];
}

std::string Launcher::release() {
  char b = 1;
  ssize_t w;
  do w = write(go_fd_, &b, 1);
  while (w < 0 && errno == EINTR);
  close_fd(go_fd_);
  ChildFailure f{};
  ssize_t r;
  do r = read(err_fd_, &f, sizeof f);
  while (r < 0 && errno == EINTR);
  close_fd(err_fd_);
  if (r == 0) return {};  // the pipe closed on exec: the command is running
  int status;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  if (r != sizeof f) return fmt::format("cannot run '{}': the launcher failed", what_);
  switch (f.stage) {
    case kStageGroups:
    case kStageGid:
    case kStageUid:
      return fmt::format("cannot run '{}' as the sudo user: dropping privileges failed: {}",
                         what_, std::strerror(f.err));
    default:
      return fmt::format("cannot run '{}': {}", what_, std::strerror(f.err));
  }
}

}  // namespace hk::analyze
