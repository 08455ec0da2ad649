// Runs one program to completion and captures what it did, for the
// integration tests that compare a run with libhakmem.so preloaded against
// a run without it.
//
// Contract: run() forks and execs spec.argv[0] (searched in PATH) with the
// test's environment minus LD_PRELOAD and every HAKMEM_* variable, plus
// spec.env; feeds spec.input on stdin; collects stdout and stderr fully;
// kills the child (SIGKILL) after spec.timeout_s. Call from the test thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hk_test {

struct RunSpec {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;  // set on top of the cleaned environment
  std::string input;                                      // stdin contents
  std::string cwd;                                        // empty: inherit
  int timeout_s = 60;
};

struct RunResult {
  int exit_code = -1;    // when the child exited normally
  int term_signal = 0;   // when a signal killed it
  bool timed_out = false;
  std::string out;
  std::string err;

  bool exited_ok() const { return term_signal == 0 && !timed_out && exit_code == 0; }
  // "exit 0", "signal 11 (Segmentation fault)", "timed out"
  std::string status() const;
};

RunResult run(const RunSpec& spec);

// Full path of `program` found in PATH, or "" when it is not installed.
std::string find_in_path(const std::string& program);

}  // namespace hk_test
