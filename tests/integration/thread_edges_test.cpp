// Runs each hk_thread_edges mode with libhakmem.so preloaded: exit() while
// threads allocate, main thread exiting before the thread that frees its
// blocks, and fork from a non-main thread. Each must print "<mode> ok", exit
// 0, and leave hakmem's report on stderr (written at exit, even with threads
// still running).
#include <string>

#include <gtest/gtest.h>

#include "preload_comparison.h"
#include "subprocess.h"

namespace {

class ThreadEdges : public testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(ThreadEdges, RunsCleanlyUnderPreload) {
  const std::string mode = GetParam();
  hk_test::RunSpec spec{{HK_THREAD_EDGES, mode},
                        {{"LD_PRELOAD", HK_LIBHAKMEM}, {"HAKMEM_STATS", "1"}},
                        "",
                        "",
                        60};
  hk_test::RunResult r = hk_test::run(spec);
  ASSERT_TRUE(r.exited_ok()) << mode << ": " << r.status() << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err;
  EXPECT_NE(r.out.find(mode + " ok"), std::string::npos) << r.out;
  EXPECT_GE(hk_test::stats_reports(r.err), 1) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Modes, ThreadEdges,
                         testing::Values("exit-while-allocating", "main-exits-first",
                                         "fork-from-worker"),
                         [](const testing::TestParamInfo<const char*>& info) {
                           std::string name;
                           for (const char* c = info.param; *c; ++c)
                             if (*c != '-') name += *c;
                           return name;
                         });
