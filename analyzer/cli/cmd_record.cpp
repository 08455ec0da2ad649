// `hakmem-analyze record`: run a command and record both sources into a trace.
#include "cli/command.h"
#include "capture/recorder.h"

#include <memory>

namespace hk::analyze {
namespace {

Register reg{Command{
    "record",
    "Run a command with libhakmem.so preloaded and the syscall probe loaded; "
    "write allocator events and memory syscalls to one trace file",
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<RecordOptions>();
      // The options say what to leave out; RecordOptions says what to do.
      struct LeftOut {
        bool bpf = false, preload = false, faults = false;
      };
      auto no = std::make_shared<LeftOut>();
      sub.add_option("-o,--output", o->output, "trace file (an existing one is kept as FILE.old)")
          ->capture_default_str();
      sub.add_flag("--no-bpf", no->bpf,
                   "do not load the eBPF probe: allocator events only, no root needed");
      sub.add_flag("--no-preload", no->preload,
                   "do not preload libhakmem.so: syscalls only, for any program and allocator");
      sub.add_option("--ring-size", o->ring_size,
                     "event ring size per process in bytes, K/M/G suffix allowed (HAKMEM_RING_SIZE)")
          ->check(CLI::Validator(
              [](std::string& s) -> std::string {
                size_t digits = s.find_first_not_of("0123456789");
                bool ok = digits > 0 && (digits == std::string::npos ||
                                         (digits + 1 == s.size() && std::string("kKmMgG").find(s.back()) != std::string::npos));
                return ok ? "" : "expected a byte count such as 65536, 4M or 1G";
              },
              "SIZE"));
      sub.add_option("--ring-mode", o->ring_mode,
                     "stream: a full ring drops and counts; flight: it overwrites the oldest")
          ->check(CLI::IsMember({"stream", "flight"}));
      sub.add_option("--bpf-buffer", o->bpf_buffer_bytes,
                     "eBPF ring buffer size in bytes (rounded up to a power of two)")
          ->check(CLI::Range(4096u, 1u << 30));
      sub.add_flag("--stacks", o->user_stacks,
                   "also record a user stack per syscall (costly: about 1.7x bare on a "
                   "syscall-bound program, against 1.2-1.3x without); the caller address is "
                   "always kept");
      sub.add_flag("--no-faults", no->faults,
                   "do not count page faults or sample RSS (the syscall-only probe)");
      sub.add_option("--tree-grace", o->tree_grace_ms,
                     "ms the command's descendants may keep recording open after it exits")
          ->capture_default_str();
      sub.add_option("command", o->command, "the command to run, after --")->required();
      sub.footer("Example: hakmem-analyze record -o run.trace -- ./bench_random_mixed 200000 4096 1");
      return [o, no] {
        o->bpf = !no->bpf;
        o->preload = !no->preload;
        o->faults = !no->faults;
        return record(*o);
      };
    }}};

}  // namespace
}  // namespace hk::analyze
