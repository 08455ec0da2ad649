// libFuzzer target: the trace reader on arbitrary bytes. Each input becomes
// a trace file (a memfd) read chunk by chunk the way report, diff and events
// read it; any crash, hang or sanitizer report is a bug, a TraceError is the
// right answer.
#include "trace/trace_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("fuzz-trace", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data, size) == ssize_t(size)) {
    try {
      hk::analyze::TraceReader r("/proc/self/fd/" + std::to_string(fd));
      size_t bytes = 0;
      for (const auto& [k, v] : r.meta()) bytes += k.size() + v.size();
      hk::analyze::TraceChunk c;
      while (r.next(c)) bytes += c.events.size() + c.syscalls.size() + c.meta.size();
      (void)r.truncated();
      (void)r.truncation_reason();
      (void)bytes;
    } catch (const hk::analyze::TraceError&) {
    }
  }
  close(fd);
  return 0;
}
