// The records' clock (preload/event_clock.h): whether it reads the TSC or
// clock_gettime, every timestamp must lie between CLOCK_MONOTONIC read just
// before and just after it, give or take the line's error, on several
// threads at once and across many refreshes of the line.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "event_clock.h"

namespace {

bool kernel_clock_is_tsc() {
  char buf[32] = {};
  const int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY);
  if (fd < 0) return false;
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 && strcmp(buf, "tsc\n") == 0;
}

// Reads for `ms` milliseconds; returns the reads outside [before - slack,
// after + slack].
long reads_off_the_clock(int ms, uint64_t slack_ns, long& reads) {
  long off = 0;
  const uint64_t end = hk::mono_ns() + uint64_t(ms) * 1000000;
  for (uint64_t before = 0; (before = hk::mono_ns()) < end;) {
    const uint64_t t = hk::event_ns();
    const uint64_t after = hk::mono_ns();
    if (t + slack_ns < before || t > after + slack_ns) ++off;
    ++reads;
  }
  return off;
}

TEST(EventClock, StaysOnClockMonotonicAcrossRefreshesOnFourThreads) {
  hk::event_clock_init();
  // 1 us: two orders of magnitude above the line's error, four below the
  // probe's syscall durations that the join matches records against.
  constexpr uint64_t kSlackNs = 1000;
  std::atomic<long> off{0}, reads{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      long n = 0;
      off += reads_off_the_clock(60, kSlackNs, n);
      reads += n;
    });
  for (auto& t : threads) t.join();
  EXPECT_GT(reads.load(), 1000);
  EXPECT_EQ(off.load(), 0) << "of " << reads.load() << " reads";
  if (kernel_clock_is_tsc())
    EXPECT_TRUE(hk::event_clock_uses_tsc()) << "60 ms is 60 refresh periods";
  else
    std::printf("clocksource is not tsc: event_ns() is clock_gettime here\n");
}

TEST(EventClock, ForkChildGetsAWorkingClock) {
  hk::event_clock_init();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    hk::event_clock_after_fork_child();
    long n = 0;
    _exit(reads_off_the_clock(5, 1000, n) == 0 && n > 100 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
