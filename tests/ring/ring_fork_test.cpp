// A forked child writes its own ring and leaves its parent's untouched; an
// exec'd program under the same environment gets a ring of its own too.
#include "ring_test_support.h"

#include <event_ring.h>
#include <hakmem/ring_format.h>

#include <gtest/gtest.h>

#include <algorithm>

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

namespace {

using hk::test::RingEnv;
using hk::test::TempDir;

constexpr uint64_t kBefore = 0xB1, kAfter = 0xB2, kChild = 0xC1;
constexpr int kRecords = 100;

pid_t g_forking_parent;

void emit_n(uint64_t marker) {
  for (int i = 0; i < kRecords; i++) hk::emit(HK_EV_SLAB_ACQUIRE, 1, 0, 0, 0, uint64_t(i), marker, 0);
}

// What the allocator's pthread_atfork handlers do for the ring.
int fork_writer() {
  if (!hk::g_ring) return 3;
  pthread_atfork([] { g_forking_parent = getpid(); }, nullptr,
                 [] { hk::ring_after_fork_child(g_forking_parent); });
  emit_n(kBefore);
  int go[2];
  if (pipe(go) != 0) return 4;
  const pid_t child = fork();
  if (child == 0) {
    close(go[1]);
    char c;
    // Wait until the parent wrote its post-fork records: both run at once.
    if (read(go[0], &c, 1) != 0) _exit(5);
    emit_n(kChild);
    _exit(hk::g_ring ? 0 : 6);
  }
  close(go[0]);
  emit_n(kAfter);
  close(go[1]);
  int st = 0;
  if (waitpid(child, &st, 0) != child || !WIFEXITED(st)) return 7;
  return WEXITSTATUS(st);
}

struct Ring {
  hk::analyze::RingInfo info;
  std::vector<hk_event> evs;
  uint64_t dropped, torn;
};

Ring read_dead(const std::string& path) {
  hk::analyze::RingReader r(path);
  Ring out{r.info(), {}, 0, 0};
  EXPECT_FALSE(r.writer_alive());
  r.drain_dead(out.evs);
  out.dropped = r.dropped();
  out.torn = r.torn();
  return out;
}

size_t count_marker(const std::vector<hk_event>& evs, uint64_t marker) {
  size_t n = 0;
  for (const auto& ev : evs) n += ev.type == HK_EV_SLAB_ACQUIRE && ev.b == marker;
  return n;
}

TEST(RingFork, ChildWritesOwnRingParentsUntouched) {
  TempDir dir;
  const pid_t parent = hk::test::spawn_writer(RingEnv{dir.prefix(), "", ""}, fork_writer);
  ASSERT_EQ(hk::test::wait_child(parent), 0);
  auto files = dir.files();
  ASSERT_EQ(files.size(), 2u);
  std::map<uint32_t, Ring> by_pid;
  for (const auto& f : files) {
    Ring r = read_dead(f);
    by_pid.emplace(r.info.pid, std::move(r));
  }
  ASSERT_EQ(by_pid.size(), 2u);
  ASSERT_EQ(by_pid.count(uint32_t(parent)), 1u);
  const Ring& p = by_pid.at(uint32_t(parent));
  const Ring& c = by_pid.begin()->first == uint32_t(parent) ? by_pid.rbegin()->second
                                                             : by_pid.begin()->second;
  const uint32_t child = c.info.pid;

  // The child's ring: tied to the parent by its header and first record.
  EXPECT_EQ(c.info.ppid, uint32_t(parent));
  ASSERT_FALSE(c.evs.empty());
  EXPECT_EQ(c.evs[0].type, HK_EV_FORK);
  EXPECT_EQ(c.evs[0].addr, child);
  EXPECT_EQ(c.evs[0].a, uint64_t(parent));
  EXPECT_EQ(count_marker(c.evs, kChild), size_t(kRecords));
  EXPECT_EQ(count_marker(c.evs, kBefore) + count_marker(c.evs, kAfter), 0u);
  for (const auto& ev : c.evs) EXPECT_EQ(ev.tid, child);

  // The parent's ring: all its own records, intact, and one fork record
  // naming the child; nothing else from the child.
  EXPECT_EQ(count_marker(p.evs, kBefore), size_t(kRecords));
  EXPECT_EQ(count_marker(p.evs, kAfter), size_t(kRecords));
  EXPECT_EQ(count_marker(p.evs, kChild), 0u);
  size_t forks = 0;
  for (const auto& ev : p.evs) {
    if (ev.type == HK_EV_FORK) {
      forks++;
      EXPECT_EQ(ev.addr, child);
      EXPECT_EQ(ev.a, uint64_t(parent));
    } else {
      EXPECT_EQ(ev.tid, uint32_t(parent)) << "type " << ev.type;
    }
  }
  EXPECT_EQ(forks, 1u);
  EXPECT_EQ(p.dropped + p.torn + c.dropped + c.torn, 0u);
}

TEST(RingFork, ExecGetsItsOwnRing) {
  TempDir dir;
  int hold[2];
  ASSERT_EQ(pipe(hold), 0);
  const pid_t pid = hk::test::spawn_writer(RingEnv{dir.prefix(), "", ""}, [&] {
    emit_n(kBefore);
    dup2(hold[0], 0);
    close(hold[0]);
    close(hold[1]);
    execl(RING_EXEC_HELPER, RING_EXEC_HELPER, static_cast<char*>(nullptr));
    return 8;
  });
  close(hold[0]);
  auto files = hk::test::wait_for_rings(dir, 2);
  ASSERT_EQ(files.size(), 2u);
  {
    hk::analyze::RingReader a(files[0]), b(files[1]);
    EXPECT_EQ(a.info().pid, uint32_t(pid));
    EXPECT_EQ(b.info().pid, uint32_t(pid));
    // Same pid, alive, but only the exec'd image maps its ring.
    hk::analyze::RingReader& old_ring = a.info().start_mono_ns < b.info().start_mono_ns ? a : b;
    hk::analyze::RingReader& new_ring = &old_ring == &a ? b : a;
    EXPECT_FALSE(old_ring.writer_alive());
    EXPECT_TRUE(new_ring.writer_alive());
    std::vector<hk_event> evs;
    old_ring.drain_dead(evs);
    EXPECT_EQ(count_marker(evs, kBefore), size_t(kRecords));
    EXPECT_FALSE(old_ring.writer_exited_cleanly());
    // The new image's first record says it replaced the old one.
    // The header is published before the first record is appended: poll
    // until it is there (the new image waits on its stdin meanwhile).
    std::vector<hk_event> fresh;
    for (int i = 0; i < 5000 && fresh.empty(); i++) {
      new_ring.poll(fresh);
      if (fresh.empty()) usleep(1000);
    }
    ASSERT_FALSE(fresh.empty());
    EXPECT_EQ(fresh.front().type, HK_EV_EXEC);
    EXPECT_EQ(fresh.front().addr, uint64_t(pid));
    EXPECT_EQ(fresh.front().a, old_ring.info().start_mono_ns);
    EXPECT_EQ(std::count_if(evs.begin(), evs.end(),
                            [](const hk_event& e) { return e.type == HK_EV_EXEC; }),
              0) << "a first image logs no exec";
  }
  close(hold[1]);
  EXPECT_EQ(hk::test::wait_child(pid), 0);
  // The exec'd image returned from main(): its ring says it exited cleanly.
  hk::analyze::RingReader a(files[0]), b(files[1]);
  EXPECT_NE(a.writer_exited_cleanly(), b.writer_exited_cleanly());
}

}  // namespace
