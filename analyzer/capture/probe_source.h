// ProbeSource: the kernel's side of a capture (`record`, `attach`), or none.
//
// Contract: used on the capturing command's one thread. open() loads the
// syscall probe when asked (bpf/syscall_probe.h) and says in one line, with
// an exit code from exit_codes.h, why it could not (including a build
// configured without BPF). Without a probe, wait() just sleeps, so the
// capture loops read the same either way.
#pragma once

#include <hakmem/syscall_record.h>

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace hk::bpf {
class SyscallProbe;
}

namespace hk::analyze {

struct ProbeWish {
  uint32_t buffer_bytes = 0;  // 0 = the probe's default
  bool user_stacks = false;
  bool faults = true;
};

class ProbeSource {
 public:
  using Sink = std::function<void(const hk_sys_record&)>;
  ProbeSource();
  ~ProbeSource();
  ProbeSource(const ProbeSource&) = delete;
  ProbeSource& operator=(const ProbeSource&) = delete;

  // `what` names the way out in the no-BPF-build message ("record allocator
  // events only with --no-bpf").
  bool open(const ProbeWish& wish, const std::string& what, std::string* why, int* code);
  bool loaded() const { return probe_ != nullptr; }
  bool trace(pid_t tgid);
  // Hands over the records that come within timeout_ms (or sleeps that long).
  void wait(int timeout_ms, const Sink& sink);
  // Hands over everything left; returns the records the probe lost.
  uint64_t drain(const Sink& sink);
  std::string attach_kind() const;
  bool faults() const;

 private:
  std::unique_ptr<bpf::SyscallProbe> probe_;
};

}  // namespace hk::analyze
