// Runs hk_thread_stress with libhakmem.so preloaded, once per allocator
// configuration a user can choose: it must finish every phase and exit 0,
// and hakmem's report must show that blocks really crossed threads (remote
// frees) and that every forked child's heap worked. The knobs change which
// paths run (drain on every free, no drain, SuperSlabs unmapped at once, no
// large cache), never whether the allocator is correct.
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "preload_comparison.h"
#include "subprocess.h"

namespace {

struct Knobs {
  const char* name;
  std::vector<std::pair<std::string, std::string>> env;
};

void PrintTo(const Knobs& knobs, std::ostream* os) { *os << knobs.name; }

class ThreadStress : public testing::TestWithParam<Knobs> {};

}  // namespace

TEST_P(ThreadStress, CrossThreadFreesThreadChurnAndForkUnderPreload) {
  hk_test::RunSpec spec{{HK_THREAD_STRESS},
                        {{"LD_PRELOAD", HK_LIBHAKMEM}, {"HAKMEM_STATS", "1"}},
                        "",
                        "",
                        120};
  for (const auto& kv : GetParam().env) spec.env.push_back(kv);
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

INSTANTIATE_TEST_SUITE_P(
    Knobs, ThreadStress,
    testing::Values(Knobs{"Defaults", {}},
                    Knobs{"DrainEveryFree", {{"HAKMEM_TLS_SLL_DRAIN_INTERVAL", "1"}}},
                    Knobs{"DrainOff", {{"HAKMEM_TLS_SLL_DRAIN_INTERVAL", "0"}}},
                    Knobs{"NoSuperSlabCache", {{"HAKMEM_SS_LRU_CAP", "0"}}},
                    Knobs{"NoLargeCache", {{"HAKMEM_LARGE_CACHE_CAP", "0"}}}),
    [](const testing::TestParamInfo<Knobs>& info) { return std::string(info.param.name); });
