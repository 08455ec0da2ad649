// Recorder: the engine behind `hakmem-analyze record`.
//
// Contract: called once per process from cmd_record.cpp, on the main thread.
// record() launches the command with libhakmem.so preloaded and a private
// ring directory, loads the syscall probe (unless told not to) before the
// command execs, and streams both sources into one trace file until the
// whole process tree has exited. Every record read is written: each exit
// path (normal, exec failure, ^C/SIGTERM, trace write failure) finishes
// the file. It prints refusals and errors as one line on stderr, and a
// summary at the end. Returns the process exit code: the command's own
// (128+N when a signal N killed it), or a code from exit_codes.h when
// `record` itself refused or failed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hk::analyze {

struct RecordOptions {
  std::string output = "hakmem.trace";
  bool bpf = true;
  bool preload = true;
  std::string ring_size;   // HAKMEM_RING_SIZE, passed through ("" = default)
  std::string ring_mode;   // "stream" or "flight" ("" = default)
  uint32_t bpf_buffer_bytes = 0;  // probe ring buffer, 0 = the probe's default
  // The probe collects a user stack per syscall. Off by default: the
  // kernel's unwinder is most of the probe's cost, and the caller address
  // (kept either way) is what the report names.
  bool user_stacks = false;
  // The probe counts the tree's user page faults and samples its RSS.
  bool faults = true;
  // After the command itself exits, how long its descendants may keep the
  // recording open.
  uint32_t tree_grace_ms = 2000;
  std::vector<std::string> command;
};

int record(const RecordOptions& opts);

// Where libhakmem.so is: $HAKMEM_LIB, else next to this executable in a
// build tree (../preload/) or an install (../lib/). Empty when not found.
std::string find_preload_library();

}  // namespace hk::analyze
