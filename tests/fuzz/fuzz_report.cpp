// libFuzzer target: what `report` runs on a trace — analyze_trace (join,
// metrics, diagnoses, symbolization from the stored layouts) and both
// renderings — on arbitrary bytes as a trace file (a memfd). A TraceError
// is the right answer to a bad file; any other exception, crash, hang or
// sanitizer report is a bug.
#include "analysis/analysis.h"
#include "output/report_json.h"
#include "output/report_text.h"
#include "trace/trace_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("fuzz-report", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data, size) == ssize_t(size)) {
    try {
      const hk::analyze::Report r = hk::analyze::analyze_trace("/proc/self/fd/" + std::to_string(fd));
      (void)hk::analyze::render_text(r, false);
      (void)hk::analyze::render_text(r, true);
      (void)hk::analyze::render_json(r);
    } catch (const hk::analyze::TraceError&) {
    }
  }
  close(fd);
  return 0;
}
