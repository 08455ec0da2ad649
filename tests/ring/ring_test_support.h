// Shared fixtures for the event ring tests.
//
// Contract: the writer side of every test runs in a forked child process, as
// in real use (the allocator writes, another process reads): the child sets
// the HAKMEM_RING* environment, calls hk::ring_init() and runs the body, then
// _exit()s. The parent (the gtest process, single-threaded when it forks)
// discovers the ring file in a private directory and reads it.
#pragma once

#include "trace/ring_reader.h"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hk::test {

// A private directory under /dev/shm, removed with its files at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string prefix() const { return path_ + "/ring"; }
  std::vector<std::string> files() const;  // sorted full paths

 private:
  std::string path_;
};

struct RingEnv {
  std::string ring;  // HAKMEM_RING
  std::string size;  // HAKMEM_RING_SIZE, empty = default
  std::string mode;  // HAKMEM_RING_MODE, empty = default
};

// Holds a forked writer back until the reader has attached: without it a
// fast writer finishes before the reader opens the ring.
class Gate {
 public:
  Gate();
  ~Gate();
  void wait();  // child: blocks until open()
  void open();  // parent

 private:
  int fds_[2];
};

// Forks a child that sets `env`, opens its ring and runs `body`; the child's
// exit status is 0 unless body returns non-zero or throws.
pid_t spawn_writer(const RingEnv& env, const std::function<int()>& body);

// What write_from_threads() emits: `threads` writer threads, each emitting
// `per_thread` records of `type` with cls = thread, a = sequence number and
// b = `marker`. With pause_every > 0 (and a gate) a writer sleeps 100 us
// every pause_every records, so that a polling reader frees room many times
// while they run.
struct WriterLoad {
  int threads;
  uint64_t per_thread;
  uint16_t type;
  uint64_t marker;
  uint64_t pause_every = 0;
};

// Body for spawn_writer(): waits on `gate` (if any), then runs `load`.
// Returns 3 when the child has no ring.
int write_from_threads(const WriterLoad& load, Gate* gate);

// Waits for the child and returns its exit status (or 128 + signal).
int wait_child(pid_t pid);

// Waits until `dir` holds `count` files whose header is readable, then
// returns their paths (sorted). Fails the test after the timeout.
std::vector<std::string> wait_for_rings(const TempDir& dir, size_t count,
                                        std::chrono::seconds timeout = std::chrono::seconds(10));

// Reads the ring until the writer process `pid` has been reaped, then drains
// what is left. Returns every record, in read order.
std::vector<hk_event> read_until_exit(analyze::RingReader& r, pid_t pid, int* status);

// A writer's record identity in the tests: cls = writer thread, a = its
// sequence number, b = marker of the writing process.
struct Seq {
  std::map<uint32_t, std::vector<uint64_t>> by_thread;  // cls -> seqs in read order
};
Seq sequences(const std::vector<hk_event>& evs, uint16_t type, uint64_t marker);

}  // namespace hk::test
