// The writer's environment contract: naming, refusal of an existing path or
// symlink (one stderr line, no ring, the program goes on), size and mode.
#include "ring_test_support.h"

#include <event_ring.h>
#include <hakmem/ring_format.h>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

namespace {

using hk::test::RingEnv;
using hk::test::TempDir;

struct InitRun {
  int status;
  std::string err;  // the writer's stderr
};

// Runs `prepare` then ring_init() in a child with `ring` as HAKMEM_RING and
// the given extra variables; the child exits 0 with a ring, 1 without.
InitRun run_init(const std::string& ring, const std::vector<std::pair<const char*, const char*>>& vars,
             const std::function<void()>& prepare = [] {}) {
  int errp[2];
  EXPECT_EQ(pipe(errp), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(errp[0]);
    dup2(errp[1], 2);
    prepare();
    setenv("HAKMEM_RING", ring.c_str(), 1);
    for (const auto& [k, v] : vars) setenv(k, v, 1);
    hk::ring_init();
    _exit(hk::g_ring ? 0 : 1);
  }
  close(errp[1]);
  std::string err;
  char buf[256];
  for (ssize_t n; (n = read(errp[0], buf, sizeof buf)) > 0;) err.append(buf, size_t(n));
  close(errp[0]);
  return InitRun{hk::test::wait_child(pid), err};
}

size_t lines(const std::string& s) { return size_t(std::count(s.begin(), s.end(), '\n')); }

TEST(RingEnv, DefaultNameCarriesPidAndTimeAndMode0600) {
  TempDir dir;
  InitRun r = run_init(dir.prefix(), {});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto files = dir.files();
  ASSERT_EQ(files.size(), 1u);
  const std::string name = files[0].substr(dir.path().size() + 1);
  // ring.<pid>.<mono_ns>
  ASSERT_EQ(name.rfind("ring.", 0), 0u) << name;
  EXPECT_EQ(std::count(name.begin(), name.end(), '.'), 2) << name;
  struct stat sb;
  ASSERT_EQ(stat(files[0].c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  hk::analyze::RingReader rd(files[0]);
  EXPECT_EQ(rd.info().mode, uint32_t(HK_RING_MODE_STREAM));
  EXPECT_EQ(rd.info().capacity, HK_RING_DEFAULT_CAPACITY);
  const std::string pid_part = std::string(".").append(std::to_string(rd.info().pid)).append(".");
  EXPECT_NE(name.find(pid_part), std::string::npos) << name;
  EXPECT_EQ(rd.info().ppid, uint32_t(getpid()));
  EXPECT_FALSE(rd.writer_exited_cleanly());  // the child left with _exit()
}

TEST(RingEnv, TemplateExpansion) {
  TempDir dir;
  InitRun r = run_init(dir.path() + "/x-%p-%%-%t", {});
  EXPECT_EQ(r.status, 0) << r.err;
  auto files = dir.files();
  ASSERT_EQ(files.size(), 1u);
  hk::analyze::RingReader rd(files[0]);
  const std::string want = dir.path() + "/x-" + std::to_string(rd.info().pid) + "-%-";
  EXPECT_EQ(files[0].rfind(want, 0), 0u) << files[0];
  EXPECT_GT(files[0].size(), want.size());  // %t expanded to digits
}

TEST(RingEnv, SizeAndMode) {
  TempDir dir;
  InitRun r = run_init(dir.prefix(), {{"HAKMEM_RING_SIZE", "1M"}, {"HAKMEM_RING_MODE", "flight"}});
  EXPECT_EQ(r.status, 0) << r.err;
  InitRun tiny = run_init(dir.path() + "/tiny", {{"HAKMEM_RING_SIZE", "100"}});
  EXPECT_EQ(tiny.status, 0) << tiny.err;
  InitRun odd = run_init(dir.path() + "/odd", {{"HAKMEM_RING_SIZE", "5000"}});
  EXPECT_EQ(odd.status, 0) << odd.err;
  InitRun bogus = run_init(dir.path() + "/bogus",
                       {{"HAKMEM_RING_SIZE", "lots"}, {"HAKMEM_RING_MODE", "sometimes"}});
  EXPECT_EQ(bogus.status, 0);
  EXPECT_EQ(lines(bogus.err), 2u) << bogus.err;
  std::map<std::string, hk::analyze::RingInfo> info;
  for (const auto& f : dir.files()) {
    hk::analyze::RingReader rd(f);
    info[f.substr(dir.path().size() + 1, f.find('.', dir.path().size()) - dir.path().size() - 1)] =
        rd.info();
  }
  EXPECT_EQ(info.at("ring").capacity, (1u << 20) / 64);
  EXPECT_EQ(info.at("ring").mode, uint32_t(HK_RING_MODE_FLIGHT));
  EXPECT_EQ(info.at("tiny").capacity, HK_RING_MIN_CAPACITY);
  EXPECT_EQ(info.at("odd").capacity, 128u);  // 5000 bytes = 79 slots, rounded up
  EXPECT_EQ(info.at("bogus").capacity, HK_RING_DEFAULT_CAPACITY);
  EXPECT_EQ(info.at("bogus").mode, uint32_t(HK_RING_MODE_STREAM));
}

TEST(RingEnv, RefusesExistingFileAndSymlink) {
  TempDir dir;
  const std::string victim = dir.path() + "/victim";
  { std::ofstream(victim) << "precious"; }
  const std::string tmpl = dir.path() + "/taken.%p";
  // The child creates what its own ring name will be before asking for it.
  InitRun file = run_init(tmpl, {}, [&] {
    std::ofstream(dir.path() + "/taken." + std::to_string(getpid())) << "someone else's";
  });
  EXPECT_EQ(file.status, 1);
  EXPECT_EQ(lines(file.err), 1u) << file.err;
  EXPECT_NE(file.err.find("already exists"), std::string::npos) << file.err;
  InitRun link = run_init(tmpl, {}, [&] {
    EXPECT_EQ(symlink(victim.c_str(), (dir.path() + "/taken." + std::to_string(getpid())).c_str()), 0);
  });
  EXPECT_EQ(link.status, 1);
  EXPECT_EQ(lines(link.err), 1u) << link.err;
  EXPECT_NE(link.err.find("symlink"), std::string::npos) << link.err;
  std::string content;
  std::getline(std::ifstream(victim), content);
  EXPECT_EQ(content, "precious");
}

TEST(RingEnv, MissingDirectoryIsOneLine) {
  InitRun r = run_init("/nonexistent-hakmem-dir/ring", {});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("/nonexistent-hakmem-dir/ring."), std::string::npos) << r.err;
}

TEST(RingEnv, UnsetMeansNoRingAndNoNoise) {
  int errp[2];
  ASSERT_EQ(pipe(errp), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(errp[0]);
    dup2(errp[1], 2);
    unsetenv("HAKMEM_RING");
    hk::ring_init();
    hk::emit(HK_EV_DRAIN);
    _exit(hk::g_ring ? 1 : 0);
  }
  close(errp[1]);
  char c;
  EXPECT_EQ(read(errp[0], &c, 1), 0);
  close(errp[0]);
  EXPECT_EQ(hk::test::wait_child(pid), 0);
}

}  // namespace
