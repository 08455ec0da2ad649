// `hakmem-analyze export FILE --format perfetto -o OUT.json`: the trace in
// the Chrome trace event format for ui.perfetto.dev and chrome://tracing
// (output/perfetto_export.h says what it holds). Written as it is read, so
// memory stays flat in the trace's size. Exit 2 on an unusable trace or an
// output that cannot be written.
#include "cli/command.h"
#include "cli/exit_codes.h"
#include "cli/global_options.h"
#include "cli/progress.h"
#include "output/perfetto_export.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hk::analyze {
namespace {

Register reg{Command{
    "export", "Convert a trace for other viewers: Perfetto / chrome://tracing JSON, written as a stream",
    [](CLI::App& sub) -> std::function<int()> {
      auto file = std::make_shared<std::string>();
      auto format = std::make_shared<std::string>("perfetto");
      auto output = std::make_shared<std::string>();
      sub.add_option("FILE", *file, "trace file written by `record`")->required();
      sub.add_option("--format", *format,
                     "perfetto: the Chrome trace event format (JSON) that ui.perfetto.dev and chrome://tracing open")
          ->check(CLI::IsMember({"perfetto"}))
          ->capture_default_str();
      sub.add_option("-o,--output", *output, "file to write (- for stdout)")->required();
      sub.footer("Example: hakmem-analyze export run.trace --format perfetto -o run.json\n"
                 "         then open run.json in https://ui.perfetto.dev (it stays on your machine)");
      // CLI11 writes into *format while parsing: the callback keeps it alive.
      return [file, format, output]() {
        std::FILE* out = *output == "-" ? stdout : std::fopen(output->c_str(), "w");
        if (!out) {
          fmt::print(stderr, "hakmem-analyze export: {}: {}\n", *output, std::strerror(errno));
          return kExitBadInput;
        }
        try {
          ExportStats s;
          {
            Progress progress(*file);
            s = export_perfetto(*file, out, progress.fn());
          }
          if (out != stdout && std::fclose(out) != 0) {
            fmt::print(stderr, "hakmem-analyze export: {}: {}\n", *output, std::strerror(errno));
            return kExitBadInput;
          }
          if (!global_options().quiet)
            fmt::print(stderr,
                     "hakmem-analyze export: {} allocator events, {} syscalls, {} flows, {} counter values; "
                     "{} records moved up to their track's last time; {} bytes\n",
                     s.events, s.syscalls, s.flows, s.counters, s.moved_up, s.bytes);
          return kExitOk;
        } catch (const std::exception& e) {
          if (out != stdout) std::fclose(out);
          fmt::print(stderr, "hakmem-analyze export: {}: {}\n", *file, e.what());
          return kExitBadInput;
        }
      };
    }}};

}  // namespace
}  // namespace hk::analyze
