// See held_child.h.
#include "held_child.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace hk::bpf {

namespace {
constexpr char kGo = 'g';
}

HeldChild::HeldChild(const std::function<int()>& run) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  pid_ = fork();
  if (pid_ < 0) {
    int saved = errno;
    close(fds[0]);
    close(fds[1]);
    errno = saved;
    return;
  }
  if (pid_ == 0) {
    close(fds[1]);
    char c = 0;
    ssize_t n;
    do {
      n = read(fds[0], &c, 1);
    } while (n < 0 && errno == EINTR);
    close(fds[0]);
    _exit(n == 1 && c == kGo ? run() : 127);
  }
  close(fds[0]);
  go_fd_ = fds[1];
}

HeldChild::~HeldChild() {
  if (go_fd_ >= 0) close(go_fd_);
  if (pid_ > 0 && !reaped_) wait();
}

bool HeldChild::release() {
  if (go_fd_ < 0) return false;
  ssize_t n;
  do {
    n = write(go_fd_, &kGo, 1);
  } while (n < 0 && errno == EINTR);
  close(go_fd_);
  go_fd_ = -1;
  return n == 1;
}

int HeldChild::wait() {
  if (pid_ <= 0 || reaped_) return -1;
  if (go_fd_ >= 0) {  // never released: let it exit
    close(go_fd_);
    go_fd_ = -1;
  }
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  reaped_ = true;
  return r == pid_ ? status : -1;
}

bool HeldChild::try_wait(int* status) {
  if (pid_ <= 0 || reaped_) return false;
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) != pid_) return false;
  reaped_ = true;
  if (status) *status = st;
  return true;
}

}  // namespace hk::bpf
