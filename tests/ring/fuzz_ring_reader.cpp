// libFuzzer target: the ring reader on arbitrary bytes. Each input becomes a
// ring file (a memfd), read the way the recorder and ring-dump read it; any
// crash, hang or sanitizer report is a bug, a RingError is the right answer.
#include "output/event_format.h"
#include "trace/ring_reader.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("fuzz-ring", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data, size) == ssize_t(size)) {
    try {
      hk::analyze::RingReader r("/proc/self/fd/" + std::to_string(fd));
      r.set_stall_timeout(std::chrono::milliseconds(0));
      std::vector<hk_event> out;
      r.poll(out);
      r.drain_dead(out);
      for (const hk_event& ev : out) {
        (void)hk::analyze::format_event_text(ev);
        (void)hk::analyze::format_event_json(ev);
      }
    } catch (const hk::analyze::RingError&) {
    }
  }
  close(fd);
  return 0;
}
