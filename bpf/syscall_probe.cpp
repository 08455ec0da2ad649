// Loader for the syscall probe: privilege and BTF checks, tp_btf/raw_tp
// selection, ring buffer draining. See syscall_probe.h for the contract.
#include "syscall_probe.h"

#include "syscall_probe.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace hk::bpf {
namespace {

// Mirrors analyzer/exit_codes.h; the probe library does not depend on the
// analyzer, the values are the documented contract.
constexpr int kExitNoBpfPrivilege = 3;
constexpr int kExitNoBtf = 4;
constexpr int kExitBpfLoadFailed = 5;

constexpr const char* kBtfPath = "/sys/kernel/btf/vmlinux";
constexpr const char* kInsteadHint = "pass --no-bpf to record without the kernel's view";
constexpr uint32_t kMaxWakeupBytes = 64u << 10;
constexpr uint64_t kRingRecordHeader = 8;  // BPF_RINGBUF_HDR_SZ: length + page offset
constexpr uint32_t kStackMapEntries = 16384;

// Loading tracing programs needs CAP_BPF with CAP_PERFMON, or CAP_SYS_ADMIN.
// Checked up front so a plain user gets a clear sentence, not a verifier log.
bool have_bpf_privilege() {
  __user_cap_header_struct hdr{};
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> data{};
  if (syscall(SYS_capget, &hdr, data.data()) != 0) return geteuid() == 0;
  auto has = [&](int cap) {
    return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
  };
  return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
}

// libbpf prints through one process-wide callback. While open() runs it is
// replaced by one that keeps the first warning (the reason for a failure)
// and, with HAKMEM_BPF_DEBUG=1, echoes everything to stderr.
std::string* g_first_libbpf_message = nullptr;

int capture_libbpf_print(enum libbpf_print_level level, const char* fmt, va_list ap) {
  static const bool debug = [] {
    const char* v = std::getenv("HAKMEM_BPF_DEBUG");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  if (debug) {
    va_list copy;
    va_copy(copy, ap);
    std::vfprintf(stderr, fmt, copy);
    va_end(copy);
  }
  if (level == LIBBPF_WARN && g_first_libbpf_message && g_first_libbpf_message->empty()) {
    char line[512];
    std::vsnprintf(line, sizeof line, fmt, ap);
    // One sentence of one line: the reason line must stay a line, and
    // libbpf's follow-up advice (RLIMIT_MEMLOCK...) is stale on 1.x kernels.
    std::string s = line;
    s = s.substr(0, s.find('\n'));
    if (auto end = s.find(". "); end != std::string::npos) s.resize(end + 1);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (s.rfind("libbpf: ", 0) == 0) s.erase(0, 8);
    *g_first_libbpf_message = s;
  }
  return 0;
}

class LibbpfMessageCapture {
 public:
  explicit LibbpfMessageCapture(std::string* sink) {
    g_first_libbpf_message = sink;
    previous_ = libbpf_set_print(capture_libbpf_print);
  }
  ~LibbpfMessageCapture() {
    libbpf_set_print(previous_);
    g_first_libbpf_message = nullptr;
  }
  LibbpfMessageCapture(const LibbpfMessageCapture&) = delete;
  LibbpfMessageCapture& operator=(const LibbpfMessageCapture&) = delete;

 private:
  libbpf_print_fn_t previous_;
};

uint32_t ring_size(uint32_t requested) {
  const uint32_t page = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  uint32_t size = page;
  while (size < requested && size < (1u << 31)) size <<= 1;
  return size;
}

enum class ProgramSet { TpBtf, RawTp };

const char* set_name(ProgramSet set) { return set == ProgramSet::TpBtf ? "tp_btf" : "raw_tp"; }

}  // namespace

struct SyscallProbe::Impl {
  syscall_probe* skel = nullptr;
  ring_buffer* rb = nullptr;
  ProgramSet set = ProgramSet::TpBtf;
  // Valid only during poll(): the ring buffer callback forwards to these.
  const std::function<void(const hk_sys_record&)>* cb = nullptr;
  int delivered = 0;
  std::exception_ptr cb_error;

  ~Impl() {
    ring_buffer__free(rb);
    syscall_probe__destroy(skel);
  }

  // One attempt with one program set; on failure leaves *err and cleans up.
  bool faults = false;  // the fault and rss_stat programs are attached

  // Loads one program set, with the fault and RSS programs when asked; a
  // kernel that refuses those still gets the syscall probe.
  bool load(const ProbeOptions& opts, ProgramSet which, std::string* err) {
    if (opts.faults && load_once(opts, which, true, err)) return true;
    std::string without;
    if (load_once(opts, which, false, &without)) return true;
    *err = without;
    return false;
  }

  bool load_once(const ProbeOptions& opts, ProgramSet which, bool with_faults, std::string* err) {
    std::string first;
    LibbpfMessageCapture capture(&first);
    auto fail = [&](const char* step, int rc) {
      *err = first.empty() ? std::string(step) + ": " + std::strerror(rc < 0 ? -rc : rc)
                           : first;
      syscall_probe__destroy(skel);
      skel = nullptr;
      return false;
    };
    skel = syscall_probe__open();
    if (!skel) return fail("open", errno);
    set = which;
    const bool btf = which == ProgramSet::TpBtf;
    bpf_program* tp_btf[] = {skel->progs.btf_sys_enter, skel->progs.btf_sys_exit,
                             skel->progs.btf_fork, skel->progs.btf_exec,
                             skel->progs.btf_exit};
    bpf_program* raw_tp[] = {skel->progs.raw_sys_enter, skel->progs.raw_sys_exit,
                             skel->progs.raw_fork, skel->progs.raw_exec,
                             skel->progs.raw_exit};
    for (bpf_program* p : tp_btf) bpf_program__set_autoload(p, btf);
    for (bpf_program* p : raw_tp) bpf_program__set_autoload(p, !btf);
    bpf_program__set_autoload(skel->progs.btf_fault, btf && with_faults);
    bpf_program__set_autoload(skel->progs.btf_rss_stat, btf && with_faults);
    bpf_program__set_autoload(skel->progs.raw_fault, !btf && with_faults);
    bpf_program__set_autoload(skel->progs.raw_rss_stat, !btf && with_faults);
    skel->rodata->cfg_faults = with_faults;
    faults = with_faults;

    const uint32_t ring = ring_size(opts.ringbuf_bytes);
    bpf_map__set_max_entries(skel->maps.events, ring);
    bpf_map__set_max_entries(skel->maps.stacks, opts.user_stacks ? kStackMapEntries : 1);
    skel->rodata->cfg_user_stacks = opts.user_stacks;
    // Wake the reader about every min(ring / 4, 64 KiB) bytes of records.
    const uint64_t every = std::max<uint64_t>(
        1, std::min(ring / 4, kMaxWakeupBytes) / (sizeof(hk_sys_record) + kRingRecordHeader));
    uint64_t pow2 = 1;
    while (pow2 * 2 <= every) pow2 *= 2;
    skel->rodata->cfg_wakeup_mask = pow2 - 1;

    if (int rc = syscall_probe__load(skel)) return fail("load", rc);
    if (int rc = syscall_probe__attach(skel)) return fail("attach", rc);
    rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, this, nullptr);
    if (!rb) return fail("ring buffer", errno);
    return true;
  }

  static int on_record(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (size < sizeof(hk_sys_record)) return 0;
    hk_sys_record r;
    std::memcpy(&r, data, sizeof r);
    try {
      (*self->cb)(r);
    } catch (...) {
      self->cb_error = std::current_exception();
      return -ECANCELED;
    }
    ++self->delivered;
    return 0;
  }
};

std::unique_ptr<SyscallProbe> SyscallProbe::open(const ProbeOptions& opts, std::string* why,
                                                 int* exit_code) {
  auto refuse = [&](int code, std::string reason) -> std::unique_ptr<SyscallProbe> {
    if (why) *why = std::move(reason);
    if (exit_code) *exit_code = code;
    return nullptr;
  };
  if (!have_bpf_privilege())
    return refuse(kExitNoBpfPrivilege,
                  std::string("the eBPF probe needs root (CAP_BPF and CAP_PERFMON): run with "
                              "sudo, or ") + kInsteadHint);
  if (access(kBtfPath, R_OK) != 0)
    return refuse(kExitNoBtf, std::string("this kernel has no BTF at ") + kBtfPath +
                                  " (CONFIG_DEBUG_INFO_BTF), so the CO-RE probe cannot load: " +
                                  kInsteadHint);

  auto impl = std::make_unique<Impl>();
  std::string btf_err, raw_err;
  if (opts.force_raw_tp || !impl->load(opts, ProgramSet::TpBtf, &btf_err)) {
    if (!impl->load(opts, ProgramSet::RawTp, &raw_err)) {
      std::string reason = "could not load the eBPF probe (";
      if (btf_err == raw_err)
        reason += raw_err;
      else {
        if (!btf_err.empty()) reason += "tp_btf: " + btf_err + "; ";
        reason += "raw_tp: " + raw_err;
      }
      reason += std::string("): ") + kInsteadHint;
      return refuse(kExitBpfLoadFailed, std::move(reason));
    }
  }
  std::unique_ptr<SyscallProbe> probe(new SyscallProbe());
  probe->impl_ = std::move(impl);
  return probe;
}

SyscallProbe::~SyscallProbe() = default;

bool SyscallProbe::trace_tgid(pid_t tgid) {
  const uint32_t key = static_cast<uint32_t>(tgid);
  const uint8_t one = 1;
  return bpf_map__update_elem(impl_->skel->maps.traced_tgids, &key, sizeof key, &one,
                              sizeof one, BPF_ANY) == 0;
}

int SyscallProbe::poll(int timeout_ms, const std::function<void(const hk_sys_record&)>& cb) {
  Impl& m = *impl_;
  m.cb = &cb;
  m.delivered = 0;
  m.cb_error = nullptr;
  int rc = ring_buffer__poll(m.rb, timeout_ms);
  // Records under the wakeup threshold never signal the epoll fd.
  if (rc >= 0 && !m.cb_error) rc = ring_buffer__consume(m.rb);
  m.cb = nullptr;
  if (m.cb_error) std::rethrow_exception(m.cb_error);
  return rc < 0 ? rc : m.delivered;
}

uint64_t SyscallProbe::lost() const {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return 0;
  std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
  const uint32_t key = 0;
  if (bpf_map__lookup_elem(impl_->skel->maps.lost, &key, sizeof key, per_cpu.data(),
                           per_cpu.size() * sizeof(uint64_t), 0) != 0)
    return 0;
  uint64_t sum = 0;
  for (uint64_t n : per_cpu) sum += n;
  return sum;
}

std::vector<uint64_t> SyscallProbe::stack(int32_t stack_id) const {
  if (stack_id < 0) return {};
  const bpf_map* map = impl_->skel->maps.stacks;
  std::vector<uint64_t> frames(bpf_map__value_size(map) / sizeof(uint64_t));
  const uint32_t key = static_cast<uint32_t>(stack_id);
  if (bpf_map__lookup_elem(map, &key, sizeof key, frames.data(),
                           frames.size() * sizeof(uint64_t), 0) != 0)
    return {};
  size_t n = 0;
  while (n < frames.size() && frames[n] != 0) ++n;
  frames.resize(n);
  return frames;
}

const char* SyscallProbe::attach_kind() const { return set_name(impl_->set); }

bool SyscallProbe::faults() const { return impl_->faults; }

}  // namespace hk::bpf
