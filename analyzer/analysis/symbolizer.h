// Symbolizer: names code addresses in traced processes (the caller address
// the probe records for each syscall) with elfutils libdwfl.
//
// Contract: used by the analysis on one thread, after the trace is read.
// The traced processes are usually gone by report time, so their memory
// layout must come from the trace: the recorder stores each process's
// layout under the META key "maps.<pid>". That text holds only the
// file-backed lines of /proc/<pid>/maps (MapsSampler drops anonymous
// mappings: they name no code), so an address in anonymous memory (JIT code)
// gets no name. The recorder writes a new maps.<pid> each time the layout
// changes, and a later META value replaces an earlier one, so the last
// layout per pid wins: an address recorded before an exec, dlopen or
// dlclose is named against the final layout, and may be named wrongly or not
// at all. Without any layout an address stays a raw number and has_layout()
// says so; a file that moved or changed since the recording gives a wrong or
// no name, never a crash.
#pragma once

#include "trace/trace_file.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace hk::analyze {

class Symbolizer {
 public:
  explicit Symbolizer(const TraceMeta& meta);
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  bool has_layout(uint32_t pid) const;
  size_t layouts() const { return maps_.size(); }
  // "function+0x1a (libfoo.so.1)", "(libfoo.so.1+0x1234)" when the module
  // has no symbol there, or empty when the address is in no known file.
  std::string name(uint32_t pid, uint64_t addr);

 private:
  struct Process;
  Process* process(uint32_t pid);
  std::map<uint32_t, std::string> maps_;
  std::map<uint32_t, std::unique_ptr<Process>> procs_;
};

}  // namespace hk::analyze
