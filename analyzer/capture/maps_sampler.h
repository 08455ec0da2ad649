// MapsSampler: keeps the memory layout of every traced process, for the
// report's call-site names (symbolizer.h reads it back from META "maps.<pid>").
//
// Contract: used by `record` on its one thread. The recorder tells it which
// pids belong to the recording (note(), exec(), gone()); sample() reads
// /proc/<pid>/maps of those pids only, soon after they are first seen or
// exec, then less and less often up to once per `every_ns`, and hands out
// the text only when it changed since the last one handed out for that pid.
// The text keeps only the file-backed lines of maps: anonymous mappings
// cannot name code, and keeping them would make every allocation look like
// a new layout. A process that is gone before it is read leaves nothing;
// its addresses stay raw in the report. Reads are done as the recorder
// runs (root under sudo can read any traced process).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

namespace hk::analyze {

class MapsSampler {
 public:
  explicit MapsSampler(uint64_t every_ns);

  // `pid` belongs to the recording; a pid seen before keeps its schedule.
  void note(uint32_t pid) {
    if (pid != last_noted_) note_slow(pid);
  }
  // `pid` replaced its image: read it again soon.
  void exec(uint32_t pid);
  // `pid` exited: never read it again (the number may be reused).
  void gone(uint32_t pid);

  // Reads the processes that are due at `now_ns`; calls `changed(pid, text)`
  // for each whose file-backed layout differs from the last one handed out.
  void sample(uint64_t now_ns, const std::function<void(uint32_t, const std::string&)>& changed);

  size_t tracked() const { return procs_.size(); }

 private:
  struct Proc {
    uint64_t due_ns = 0;       // 0: read at the next sample()
    uint64_t interval_ns = 0;  // grows from the first read to every_ns_
    std::string text;          // last layout handed out
  };
  void note_slow(uint32_t pid);

  uint64_t every_ns_;
  uint32_t last_noted_ = 0;
  std::unordered_map<uint32_t, Proc> procs_;
};

}  // namespace hk::analyze
