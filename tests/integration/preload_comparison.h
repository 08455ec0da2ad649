// Runs a program twice, without and with libhakmem.so preloaded, and judges
// the pair: same exit status, same stdout, and proof that hakmem was really
// the allocator in the preloaded run (its HAKMEM_STATS report on stderr).
//
// Contract: run_with_and_without_hakmem() calls make(false) then make(true)
// for the two specs (so each run can get its own scratch directory), adds
// LD_PRELOAD=<libhakmem.so> and HAKMEM_STATS=1 to the second, and runs both
// with hk_test::run(). Test thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "subprocess.h"

namespace hk_test {

struct RunPair {
  RunResult plain;
  RunResult preloaded;
};

RunPair run_with_and_without_hakmem(const std::function<RunSpec(bool preloaded)>& make);

// How many HAKMEM_STATS reports (one per process that exited) stderr holds.
int stats_reports(const std::string& err);

// The sum over all reports in stderr of the number that follows `key`
// (e.g. "remote: frees=").
std::uint64_t sum_of_counter(const std::string& err, const std::string& key);

// Adds gtest failures for every way the preloaded run differs from the
// plain one, or shows no sign of hakmem. `min_reports` is how many processes
// at least must have reported.
void expect_same_behaviour(const RunPair& runs, int min_reports = 1);

}  // namespace hk_test
