// `hakmem-analyze report FILE [--format text|json]`: the diagnosis of one
// recording. Exit 0 when the report was produced (diagnoses are findings,
// not failures: `check` gates on them), 2 when the file is unusable.
#include "analysis/analysis.h"
#include "cli/command.h"
#include "cli/exit_codes.h"
#include "output/report_json.h"
#include "output/report_text.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace hk::analyze {
namespace {

Register reg{Command{
    "report", "Join allocator and kernel events of a trace and diagnose accounting gaps and churn",
    [](CLI::App& sub) -> std::function<int()> {
      auto file = std::make_shared<std::string>();
      auto format = std::make_shared<std::string>("text");
      sub.add_option("FILE", *file, "trace file written by `record`")->required();
      sub.add_option("--format", *format, "text (for people) or json (schema: analyzer/output/report_schema.md)")
          ->check(CLI::IsMember({"text", "json"}));
      return [file, format]() {
        try {
          Report r = analyze_trace(*file);
          const std::string out = *format == "json" ? render_json(r) : render_text(r, isatty(STDOUT_FILENO));
          std::fwrite(out.data(), 1, out.size(), stdout);
          return kExitOk;
        } catch (const std::exception& e) {
          fmt::print(stderr, "hakmem-analyze report: {}: {}\n", *file, e.what());
          return kExitBadInput;
        }
      };
    }}};

}  // namespace
}  // namespace hk::analyze
