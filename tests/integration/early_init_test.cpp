// Early start: a library preloaded beside libhakmem.so allocates from its
// constructor (and from a thread it starts there), before main, in either
// preload order. hakmem must own those blocks, and the program must then
// run normally.
#include <string>

#include <gtest/gtest.h>

#include "preload_comparison.h"
#include "subprocess.h"

namespace {

void run_with_preload_order(const std::string& preload) {
  hk_test::RunSpec spec{{"bash", "-c", "echo main ran"},
                        {{"LD_PRELOAD", preload}, {"HAKMEM_STATS", "1"}},
                        "",
                        "",
                        60};
  hk_test::RunResult r = hk_test::run(spec);
  ASSERT_TRUE(r.exited_ok()) << "LD_PRELOAD=\"" << preload << "\": " << r.status() << "\n" << r.err;
  EXPECT_EQ(r.out, "main ran\n");
  EXPECT_NE(r.err.find("hk_early_alloc: ok, 7 blocks, hakmem_owns=1"), std::string::npos)
      << "LD_PRELOAD=\"" << preload << "\": blocks allocated before main were not hakmem's:\n"
      << r.err;
  EXPECT_GE(hk_test::stats_reports(r.err), 1) << r.err;
}

}  // namespace

TEST(EarlyInit, AllocationsBeforeMainWithHakmemPreloadedFirst) {
  run_with_preload_order(std::string(HK_LIBHAKMEM) + " " + HK_EARLY_ALLOC);
}

TEST(EarlyInit, AllocationsBeforeMainWithHakmemPreloadedLast) {
  run_with_preload_order(std::string(HK_EARLY_ALLOC) + " " + HK_LIBHAKMEM);
}
