// hakmem-analyze: records, joins and reports allocator and kernel traces.
#include "cli/command.h"
#include "cli/exit_codes.h"
#include "cli/global_options.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

namespace hk::analyze {
std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

GlobalOptions& global_options() {
  static GlobalOptions options;
  return options;
}

bool use_colour(std::FILE* to) {
  const std::string& c = global_options().color;
  if (c == "always") return true;
  if (c == "never") return false;
  return isatty(fileno(to));
}
}  // namespace hk::analyze

int main(int argc, char** argv) {
  using namespace hk::analyze;
  spdlog::set_pattern("hakmem-analyze: %v");
  spdlog::set_level(spdlog::level::warn);

  CLI::App app{"hakmem-analyze: record allocator and kernel memory events, "
               "then diagnose accounting gaps and syscall churn"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hakmem-analyze " HAKMEM_VERSION);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "log progress to stderr");
  GlobalOptions& g = global_options();
  app.add_flag("-q,--quiet", g.quiet, "no progress bar and no summary lines on stderr");
  app.add_option("--color", g.color, "colour in text output: auto (only on a terminal), always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  // The options above may also follow the subcommand.
  app.fallthrough();
  std::string footer = "Examples:\n"
                       "  hakmem-analyze record -o run.trace -- ./your-program args\n"
                       "  hakmem-analyze report run.trace --format html -o run.html\n"
                       "  hakmem-analyze whatif run.trace --lru-cap 0,16,64\n"
                       "  hakmem-analyze <subcommand> --help\n"
                       "Exit codes:\n";
  for (const auto& [code, meaning] : kExitCodes) footer += fmt::format("  {}  {}\n", code, meaning);
  app.footer(footer);

  auto& cmds = registry();
  std::sort(cmds.begin(), cmds.end(),
            [](const Command& a, const Command& b) { return a.name < b.name; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& c : cmds) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    runners.emplace_back(sub, c.setup(*sub));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitBadInput;
  }
  if (verbose) spdlog::set_level(spdlog::level::info);
  for (auto& [sub, run] : runners)
    if (sub->parsed()) return run();
  return kExitBadInput;
}
