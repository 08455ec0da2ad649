// Syscall probe loader: userspace half of bpf/syscall_probe.bpf.c.
//
// Contract: one SyscallProbe per recording, driven by one thread. open()
// loads and attaches the CO-RE programs (tp_btf first, raw_tp fallback), and
// on failure returns nullptr with a one-line reason and one of the exit codes
// from analyzer/exit_codes.h (3 no privilege, 4 no BTF, 5 load/attach). Once
// open, only tgids added with trace_tgid() (and their descendants, followed
// in the kernel at fork) produce records.
//
// libbpf's own messages are silenced while open() runs (the first one becomes
// part of *why); set HAKMEM_BPF_DEBUG=1 to see all of them on stderr.
// The kernel wakes a waiting poll() once per batch of records (about a
// quarter of the ring, at most 64 KiB) and at each process exit, not per
// record; the rest are delivered when poll's timeout expires, so the timeout
// bounds the latency.
#pragma once

#include <hakmem/syscall_record.h>

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hk::bpf {

struct ProbeOptions {
  uint32_t ringbuf_bytes = 16u << 20;  // BPF ring buffer size; rounded up
                                       // to a power of two >= one page
  // Collect bpf_get_stackid user stacks. The kernel's user unwinder is the
  // probe's largest cost: on examples/mmap_churn (Linux 6.18 VM) about 1.7x
  // bare with stacks, 1.3x without (see scripts/bench_probe.sh).
  bool user_stacks = false;
  bool force_raw_tp = false;           // skip tp_btf (tests the fallback)
  // Count user page faults and sample RSS (page_fault_user and rss_stat);
  // when the kernel refuses those programs the probe loads without them.
  bool faults = true;
};

class SyscallProbe {
 public:
  static std::unique_ptr<SyscallProbe> open(const ProbeOptions& opts,
                                            std::string* why, int* exit_code);
  ~SyscallProbe();

  bool trace_tgid(pid_t tgid);  // seed the traced-tgid map
  // Calls cb for each record available within timeout_ms; returns the number
  // of records, or -errno (-EINTR when a signal interrupted the wait). An
  // exception thrown by cb stops this poll and propagates; the records not
  // yet handed to cb stay in the ring for the next poll.
  int poll(int timeout_ms, const std::function<void(const hk_sys_record&)>& cb);
  uint64_t lost() const;  // sum of the per-CPU reserve-failure counters
  // Resolves a stack id to user addresses (empty if unknown).
  std::vector<uint64_t> stack(int32_t stack_id) const;
  // Which program set is attached: "tp_btf" or "raw_tp".
  const char* attach_kind() const;
  // Whether page faults and RSS are recorded (ProbeOptions::faults and the
  // kernel allowed it).
  bool faults() const;

 private:
  SyscallProbe() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hk::bpf
