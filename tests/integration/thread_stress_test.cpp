// Runs hk_thread_stress with libhakmem.so preloaded: it must finish every
// phase and exit 0, and hakmem's report must show that blocks really crossed
// threads (remote frees) and that every forked child's heap worked.
#include <string>

#include <gtest/gtest.h>

#include "preload_comparison.h"
#include "subprocess.h"

using hk_test::RunSpec;

TEST(ThreadStress, CrossThreadFreesThreadChurnAndForkUnderPreload) {
  RunSpec spec{{HK_THREAD_STRESS},
               {{"LD_PRELOAD", HK_LIBHAKMEM}, {"HAKMEM_STATS", "1"}},
               "",
               "",
               120};
  hk_test::RunResult r = hk_test::run(spec);
  ASSERT_TRUE(r.exited_ok()) << r.status() << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err;
  EXPECT_NE(r.out.find("producer/consumer ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("thread churn ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("many threads ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fork while threaded ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("thread stress ok"), std::string::npos) << r.out;
  // The parent and each of the 20 forked children report at exit.
  EXPECT_GE(hk_test::stats_reports(r.err), 21) << r.err;
  EXPECT_GT(hk_test::sum_of_counter(r.err, "remote: frees="), 0u)
      << "no cross-thread free reached hakmem's remote path:\n" << r.err;
}
