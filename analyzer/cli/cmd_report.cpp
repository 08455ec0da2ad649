// `hakmem-analyze report FILE [--format text|json|html] [-o OUT]`: the
// diagnosis of one recording, to stdout or OUT. Exit 0 when the report was produced (diagnoses are findings,
// not failures: `check` gates on them), 2 when the file is unusable.
#include "analysis/analysis.h"
#include "cli/command.h"
#include "cli/exit_codes.h"
#include "cli/global_options.h"
#include "cli/progress.h"
#include "output/report_html.h"
#include "output/report_json.h"
#include "output/report_text.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hk::analyze {
namespace {

Register reg{Command{
    "report", "Join allocator and kernel events of a trace and diagnose accounting gaps and churn",
    [](CLI::App& sub) -> std::function<int()> {
      auto file = std::make_shared<std::string>();
      auto format = std::make_shared<std::string>("text");
      auto output = std::make_shared<std::string>();
      sub.add_option("FILE", *file, "trace file written by `record`")->required();
      sub.add_option("--format", *format,
                     "text (for people), json (schema: analyzer/output/report_schema.md) or html (one "
                     "self-contained page with charts)")
          ->check(CLI::IsMember({"text", "json", "html"}));
      sub.add_option("-o,--output", *output, "write to this file instead of stdout");
      sub.footer("Examples:\n"
                 "  hakmem-analyze report run.trace                           # diagnoses and tables\n"
                 "  hakmem-analyze report run.trace --format json > run.json\n"
                 "  hakmem-analyze report run.trace --format html -o run.html  # charts, one file, offline");
      return [file, format, output]() {
        try {
          Report r;
          {
            Progress progress(*file);
            r = analyze_trace(*file, {}, progress.fn());
          }
          std::FILE* to = stdout;
          if (!output->empty() && !(to = std::fopen(output->c_str(), "w"))) {
            fmt::print(stderr, "hakmem-analyze report: {}: {}\n", *output, std::strerror(errno));
            return kExitBadInput;
          }
          const bool colour = use_colour(to);
          const std::string out = *format == "json"   ? render_json(r)
                                  : *format == "html" ? render_html(r)
                                                      : render_text(r, colour);
          const bool written = std::fwrite(out.data(), 1, out.size(), to) == out.size();
          if ((to != stdout && std::fclose(to) != 0) || !written) {
            fmt::print(stderr, "hakmem-analyze report: {}: write failed\n", output->empty() ? "stdout" : *output);
            return kExitBadInput;
          }
          return kExitOk;
        } catch (const std::exception& e) {
          fmt::print(stderr, "hakmem-analyze report: {}: {}\n", *file, e.what());
          return kExitBadInput;
        }
      };
    }}};

}  // namespace
}  // namespace hk::analyze
