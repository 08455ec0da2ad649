#include "ring_test_support.h"

#include <event_ring.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hk::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  char tmpl[] = "/dev/shm/hakmem-ring-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<std::string> TempDir::files() const {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

Gate::Gate() {
  if (pipe(fds_) != 0) throw std::runtime_error("pipe failed");
}

Gate::~Gate() {
  for (int fd : fds_)
    if (fd >= 0) close(fd);
}

void Gate::wait() {
  close(fds_[1]);
  fds_[1] = -1;
  char c;
  while (read(fds_[0], &c, 1) < 0 && errno == EINTR) {
  }
}

void Gate::open() {
  close(fds_[1]);
  fds_[1] = -1;
}

pid_t spawn_writer(const RingEnv& env, const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  int rc = 1;
  try {
    setenv("HAKMEM_RING", env.ring.c_str(), 1);
    if (!env.size.empty()) setenv("HAKMEM_RING_SIZE", env.size.c_str(), 1);
    if (!env.mode.empty()) setenv("HAKMEM_RING_MODE", env.mode.c_str(), 1);
    hk::ring_init();
    rc = body();
  } catch (...) {
    rc = 99;
  }
  _exit(rc);
}

int wait_child(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return -1;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return 128 + WTERMSIG(st);
}

std::vector<std::string> wait_for_rings(const TempDir& dir, size_t count,
                                        std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<std::string> files = dir.files();
    size_t ready = 0;
    for (const auto& f : files) {
      try {
        analyze::RingReader probe(f);
        ready++;
      } catch (const analyze::RingError&) {
      }
    }
    if (files.size() >= count && ready >= count) return files;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "only " << ready << " of " << count << " rings appeared in " << dir.path();
      return files;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::vector<hk_event> read_until_exit(analyze::RingReader& r, pid_t pid, int* status) {
  std::vector<hk_event> out;
  for (;;) {
    r.poll(out);
    int st = 0;
    const pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) {
      *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_FALSE(r.writer_alive());
  r.drain_dead(out);
  return out;
}

Seq sequences(const std::vector<hk_event>& evs, uint16_t type, uint64_t marker) {
  Seq s;
  for (const hk_event& ev : evs)
    if (ev.type == type && ev.b == marker) s.by_thread[ev.cls].push_back(ev.a);
  return s;
}

int write_from_threads(const WriterLoad& load, Gate* gate) {
  if (!hk::g_ring) return 3;
  if (gate) gate->wait();
  const bool paced = gate && load.pause_every;
  std::vector<std::thread> ts;
  for (int t = 0; t < load.threads; t++)
    ts.emplace_back([t, paced, &load] {
      for (uint64_t i = 0; i < load.per_thread; i++) {
        hk::emit(load.type, uint8_t(t), 0, 0, 0, i, load.marker, 0);
        if (paced && i % load.pause_every == load.pause_every - 1) usleep(100);
      }
    });
  for (auto& th : ts) th.join();
  return 0;
}

}  // namespace hk::test
