// The writer's side of an attach (hakmem/attach_format.h): a process with
// no HAKMEM_RING opens a ring when the attach point asks and the gate is
// set, says where it stood first, stops when the gate closes, opens a new
// ring for a new request, hands a fork child its own ring, and answers a
// request it cannot serve as refused with the gate closed again. Each
// writer runs in a forked child, as the process attach writes into; the
// child plays the attacher too, writing the point as process_vm_writev
// would.
#include "ring_test_support.h"

#include <attach_point.h>
#include <event_ring.h>
#include <hakmem/attach_format.h>
#include <hakmem/ring_format.h>

#include <gtest/gtest.h>

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" hk_attach_point hakmem_attach_point;

namespace {

using hk::test::TempDir;

// The attacher's steps: the request, then the gate.
uint64_t ask(const std::string& prefix) {
  hk_attach_point& p = hakmem_attach_point;
  memset(p.prefix, 0, sizeof p.prefix);
  memcpy(p.prefix, prefix.data(), prefix.size());
  p.capacity = 0;
  p.mode = 0;
  __atomic_store_n(&p.request, p.served + 1, __ATOMIC_RELEASE);
  *reinterpret_cast<uint8_t*>(uintptr_t(p.gate_addr)) = 1;
  return p.request;
}
void close_gate() { *reinterpret_cast<uint8_t*>(uintptr_t(hakmem_attach_point.gate_addr)) = 0; }

// An event of the program's own, marked so the parent can tell them apart.
void program_event(uint64_t marker) { hk::emit(HK_EV_SNAPSHOT, 0, 0, 0, 0, 0, marker, 0); }

std::vector<hk_event> read_dead(const std::string& path) {
  hk::analyze::RingReader r(path, geteuid());
  std::vector<hk_event> out;
  r.drain_dead(out);
  return out;
}

std::vector<uint64_t> markers(const std::vector<hk_event>& evs) {
  std::vector<uint64_t> out;
  for (const auto& e : evs)
    if (e.type == HK_EV_SNAPSHOT) out.push_back(e.b);
  return out;
}

int run_child(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    unsetenv("HAKMEM_RING");
    hk::ring_init();
    _exit(body());
  }
  return hk::test::wait_child(pid);
}

TEST(RingAttach, OpensOnRequestStopsAtDetachAndReopens) {
  TempDir dir;
  const int status = run_child([&] {
    hk_attach_point& p = hakmem_attach_point;
    if (p.magic != HK_ATTACH_MAGIC || p.state != HK_ATTACH_STATE_IDLE || hk::g_ring) return 10;
    program_event(1);  // nobody attached: not written anywhere
    if (ask(dir.prefix()) != 1) return 11;
    program_event(2);  // opens the ring, then is written
    if (p.served != 1 || p.state != HK_ATTACH_STATE_OPEN || !hk::g_ring) return 12;
    program_event(3);
    close_gate();
    program_event(4);  // detached: not written
    ask(dir.prefix());
    program_event(5);  // a ring of its own
    if (p.served != 2 || p.state != HK_ATTACH_STATE_OPEN) return 13;
    return 0;
  });
  ASSERT_EQ(status, 0);
  auto files = dir.files();
  ASSERT_EQ(files.size(), 2u);
  auto first = read_dead(files[0]), second = read_dead(files[1]);
  // Names carry the open time, so the sorted order is the attach order.
  ASSERT_GE(first.size(), 3u);
  EXPECT_EQ(first[0].type, HK_EV_ATTACH);
  EXPECT_EQ(first[0].addr, first[0].tid);  // a single-threaded child: pid == tid
  EXPECT_EQ(first[0].c, 1u);
  EXPECT_EQ(first[1].type, HK_EV_OS_MMAP);
  EXPECT_EQ(first[1].reason, HK_OS_RING);
  EXPECT_EQ(markers(first), (std::vector<uint64_t>{2, 3}));
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(second[0].type, HK_EV_ATTACH);
  EXPECT_EQ(second[0].c, 2u);
  EXPECT_EQ(markers(second), (std::vector<uint64_t>{5}));
}

TEST(RingAttach, AForkChildOfAnAttachedProcessHasItsOwnRing) {
  TempDir dir;
  const int status = run_child([&] {
    ask(dir.prefix());
    program_event(1);
    const pid_t c = fork();
    if (c == 0) {
      hk::ring_after_fork_child(getppid());
      program_event(2);
      _exit(hk::g_ring ? 0 : 1);
    }
    return hk::test::wait_child(c);
  });
  ASSERT_EQ(status, 0);
  auto files = dir.files();
  ASSERT_EQ(files.size(), 2u);
  std::vector<uint64_t> all;
  for (const auto& f : files) {
    auto evs = read_dead(f);
    ASSERT_FALSE(evs.empty());
    EXPECT_TRUE(evs[0].type == HK_EV_ATTACH || evs[0].type == HK_EV_FORK) << evs[0].type;
    for (uint64_t m : markers(evs)) all.push_back(m);
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<uint64_t>{1, 2}));
}

TEST(RingAttach, ARequestItCannotServeIsRefusedAndTheGateCloses) {
  TempDir dir;
  const int status = run_child([&] {
    hk_attach_point& p = hakmem_attach_point;
    ask(dir.path() + "/missing/ring");
    program_event(1);
    if (p.served != 1 || p.state != HK_ATTACH_STATE_REFUSED || p.error != ENOENT) return 10;
    if (hk::g_ring) return 11;  // the program pays nothing more for it
    ask("relative/ring");  // not absolute: malformed
    program_event(2);
    if (p.state != HK_ATTACH_STATE_REFUSED || p.error != EINVAL || hk::g_ring) return 12;
    return 0;
  });
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(dir.files().empty());
}

}  // namespace
