// Exit codes of hakmem-analyze: a documented contract. kExitCodes below is
// the one table of them: `hakmem-analyze --help` prints it, and
// tests/report/exit_codes_test.py checks that the README's "Exit codes"
// table says exactly the same, code by code.
//
// `record` passes through the traced command's own exit code when it ran;
// these codes are used only when hakmem-analyze itself fails or refuses.
// `attach` returns 0 once the trace is written: the process it attached to
// is not its child, and its exit status is not ours to know.
#pragma once

#include <array>
#include <string_view>
#include <utility>

namespace hk::analyze {

inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitNoBpfPrivilege = 3;
inline constexpr int kExitNoBtf = 4;
inline constexpr int kExitBpfLoadFailed = 5;
inline constexpr int kExitLaunchFailed = 6;
inline constexpr int kExitTraceWriteFailed = 7;
inline constexpr int kExitNoSuchProcess = 8;
inline constexpr int kExitNotTraceable = 9;

// Meanings as the README's table words them (Markdown: `code` for names).
inline constexpr std::array<std::pair<int, std::string_view>, 10> kExitCodes{{
    {kExitOk, "success (`check`: every threshold held)"},
    {kExitCheckFailed, "`check`: a threshold failed (each failure is named)"},
    {kExitBadInput, "bad usage, or an unreadable or hostile input file"},
    {kExitNoBpfPrivilege, "not allowed to load BPF (not root / no CAP_BPF): use `--no-bpf`, or sudo"},
    {kExitNoBtf, "the kernel has no BTF (`/sys/kernel/btf/vmlinux`)"},
    {kExitBpfLoadFailed, "the probe failed to load or attach (or the build has no BPF)"},
    {kExitLaunchFailed, "the command could not be started, or libhakmem.so was not found"},
    {kExitTraceWriteFailed, "the trace could not be created, written or completed"},
    {kExitNoSuchProcess, "`attach`: no process has that pid"},
    {kExitNotTraceable, "`attach`: not allowed to trace that process (another user's, or a kernel thread): attach as its user or as root"},
}};

}  // namespace hk::analyze
