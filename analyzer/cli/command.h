// Subcommand registry for hakmem-analyze.
//
// Contract: each cmd_*.cpp defines one subcommand and registers it with a
// file-scope `hk::analyze::Register` object. main() builds the CLI11 app
// from the registry in registration-name order, parses, and runs the
// selected command's callback. Exit codes are documented in exit_codes.h.
// Runs on the main thread only.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace hk::analyze {

struct Command {
  std::string name;
  std::string help;
  // Adds options to `sub`, and returns the function that runs the command
  // once parsing succeeded; its return value is the process exit code.
  std::function<std::function<int()>(CLI::App& sub)> setup;
};

std::vector<Command>& registry();

struct Register {
  explicit Register(Command c) { registry().push_back(std::move(c)); }
};

}  // namespace hk::analyze
