// `hakmem-analyze attach PID`: record a process that is already running.
#include "cli/command.h"
#include "capture/attacher.h"

#include <memory>

namespace hk::analyze {
namespace {

Register reg{Command{
    "attach",
    "Record a running process from now on: its memory syscalls, and its allocator's events "
    "when it runs under libhakmem.so; until ^C, --duration or its exit",
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<AttachOptions>();
      struct LeftOut {
        bool bpf = false, preload = false, faults = false;
      };
      auto no = std::make_shared<LeftOut>();
      sub.add_option("pid", o->pid, "the process to attach to")->required()->check(CLI::PositiveNumber);
      sub.add_option("-o,--output", o->output, "trace file (an existing one is kept as FILE.old)")
          ->capture_default_str();
      sub.add_option("--duration", o->duration_s, "stop after this many seconds (default: ^C or the exit)")
          ->check(CLI::PositiveNumber);
      sub.add_flag("--no-bpf", no->bpf, "do not load the eBPF probe: allocator events only, no root needed");
      sub.add_flag("--no-preload", no->preload, "leave the allocator's ring off: syscalls only");
      sub.add_option("--bpf-buffer", o->bpf_buffer_bytes,
                     "eBPF ring buffer size in bytes (rounded up to a power of two)")
          ->check(CLI::Range(4096u, 1u << 30));
      sub.add_flag("--stacks", o->user_stacks, "also record a user stack per syscall (costly)");
      sub.add_flag("--no-faults", no->faults, "do not count page faults or sample RSS");
      sub.footer("Example: hakmem-analyze attach $(pidof redis-server) -o redis.trace --duration 10");
      return [o, no] {
        o->bpf = !no->bpf;
        o->preload = !no->preload;
        o->faults = !no->faults;
        return attach(*o);
      };
    }}};

}  // namespace
}  // namespace hk::analyze
