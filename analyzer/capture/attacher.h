// Attacher: the engine behind `hakmem-analyze attach PID`.
//
// Contract: called once per process from cmd_attach.cpp, on the main
// thread. attach() checks that the process exists (else kExitNoSuchProcess)
// and that we may trace it: the kernel's /proc rule (ptrace_may_access,
// read mode: its uid, or root), else kExitNotTraceable. It then loads the
// probe and adds the process (its threads, and the children it forks from
// then on) to the probe's traced set, and when the process runs under
// libhakmem.so switches the allocator's event ring on through the attach
// point (hakmem/attach_format.h). Both sources stream into one trace, whose
// metadata says it was attached and when, until ^C/SIGTERM, `duration_s`
// or the process's exit (a pidfd: we are not its parent). At the end the
// allocator is detached (its ring stops, its pages are freed and its file
// removed) and the process runs on as before. Errors are one line on
// stderr. Returns 0, or a code from exit_codes.h.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace hk::analyze {

struct AttachOptions {
  pid_t pid = 0;
  std::string output = "hakmem.trace";
  double duration_s = 0;  // 0: until ^C or the process's exit
  bool bpf = true;
  bool preload = true;    // switch the allocator's ring on when it is there
  bool user_stacks = false;
  bool faults = true;
  uint32_t bpf_buffer_bytes = 0;
};

int attach(const AttachOptions& opts);

}  // namespace hk::analyze
