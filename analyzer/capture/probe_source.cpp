// ProbeSource: the probe, or its absence. See probe_source.h.
#include "capture/probe_source.h"

#include "cli/exit_codes.h"

#ifdef HAKMEM_HAVE_BPF
#include "syscall_probe.h"
#endif

#include <unistd.h>

#include <fmt/format.h>

namespace hk::bpf {
#ifndef HAKMEM_HAVE_BPF
class SyscallProbe {};
#endif
}  // namespace hk::bpf

namespace hk::analyze {

ProbeSource::ProbeSource() = default;
ProbeSource::~ProbeSource() = default;

bool ProbeSource::open(const ProbeWish& wish, const std::string& what, std::string* why, int* code) {
#ifdef HAKMEM_HAVE_BPF
  bpf::ProbeOptions po;
  if (wish.buffer_bytes) po.ringbuf_bytes = wish.buffer_bytes;
  po.user_stacks = wish.user_stacks;
  po.faults = wish.faults;
  *code = kExitBpfLoadFailed;
  (void)what;
  probe_ = bpf::SyscallProbe::open(po, why, code);
  return probe_ != nullptr;
#else
  (void)wish;
  *why = fmt::format("this build has no eBPF probe (configured with HAKMEM_BPF=OFF): {}", what);
  *code = kExitBpfLoadFailed;
  return false;
#endif
}

bool ProbeSource::trace(pid_t tgid) {
#ifdef HAKMEM_HAVE_BPF
  return probe_ && probe_->trace_tgid(tgid);
#else
  (void)tgid;
  return false;
#endif
}

void ProbeSource::wait(int timeout_ms, const Sink& sink) {
#ifdef HAKMEM_HAVE_BPF
  if (probe_) {
    probe_->poll(timeout_ms, sink);
    return;
  }
#endif
  (void)sink;
  usleep(useconds_t(timeout_ms) * 1000);
}

uint64_t ProbeSource::drain(const Sink& sink) {
#ifdef HAKMEM_HAVE_BPF
  if (!probe_) return 0;
  while (probe_->poll(0, sink) > 0) {
  }
  return probe_->lost();
#else
  (void)sink;
  return 0;
#endif
}

std::string ProbeSource::attach_kind() const {
#ifdef HAKMEM_HAVE_BPF
  if (probe_) return probe_->attach_kind();
#endif
  return {};
}

bool ProbeSource::faults() const {
#ifdef HAKMEM_HAVE_BPF
  if (probe_) return probe_->faults();
#endif
  return false;
}

}  // namespace hk::analyze
