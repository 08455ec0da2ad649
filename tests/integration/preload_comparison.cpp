#include "preload_comparison.h"

#include <cstdlib>

#include <gtest/gtest.h>

namespace hk_test {

namespace {

// On the first line of each HAKMEM_STATS report ("[hakmem] pid=N config:
// drain_interval=..."); the words before it are left free to change.
constexpr const char* kStatsHeader = "config: drain_interval=";

std::string tail(const std::string& s, std::size_t n = 2000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

}  // namespace

RunPair run_with_and_without_hakmem(const std::function<RunSpec(bool)>& make) {
  RunPair pair;
  pair.plain = run(make(false));
  RunSpec spec = make(true);
  spec.env.emplace_back("LD_PRELOAD", HK_LIBHAKMEM);
  spec.env.emplace_back("HAKMEM_STATS", "1");
  pair.preloaded = run(spec);
  return pair;
}

int stats_reports(const std::string& err) {
  int count = 0;
  for (std::size_t at = err.find(kStatsHeader); at != std::string::npos;
       at = err.find(kStatsHeader, at + 1))
    ++count;
  return count;
}

std::uint64_t sum_of_counter(const std::string& err, const std::string& key) {
  std::uint64_t sum = 0;
  for (std::size_t at = err.find(key); at != std::string::npos; at = err.find(key, at + 1))
    sum += std::strtoull(err.c_str() + at + key.size(), nullptr, 10);
  return sum;
}

void expect_same_behaviour(const RunPair& runs, int min_reports) {
  const RunResult& a = runs.plain;
  const RunResult& b = runs.preloaded;
  // A plain run that fails means the test is broken, not the allocator.
  ASSERT_TRUE(a.exited_ok()) << "the run without hakmem failed (" << a.status()
                             << "); stderr:\n" << tail(a.err);
  EXPECT_EQ(b.status(), a.status()) << "with hakmem preloaded; stderr:\n" << tail(b.err);
  EXPECT_EQ(b.out, a.out) << "stdout differs with hakmem preloaded; stderr:\n" << tail(b.err);
  EXPECT_EQ(stats_reports(a.err), 0) << "a hakmem report appeared without the preload";
  EXPECT_GE(stats_reports(b.err), min_reports)
      << "no sign that hakmem was the allocator (HAKMEM_STATS report missing); stderr:\n"
      << tail(b.err);
}

}  // namespace hk_test
