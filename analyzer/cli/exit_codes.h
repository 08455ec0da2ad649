// Exit codes of hakmem-analyze: a documented contract (README "Exit codes").
//
// `record` passes through the traced command's own exit code when it ran;
// these codes are used only when hakmem-analyze itself fails or refuses.
#pragma once

namespace hk::analyze {

inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;   // check: a threshold failed
inline constexpr int kExitBadInput = 2;      // bad usage, unreadable/hostile file
inline constexpr int kExitNoBpfPrivilege = 3;  // not root / no CAP_BPF
inline constexpr int kExitNoBtf = 4;         // kernel has no BTF
inline constexpr int kExitBpfLoadFailed = 5; // probe failed to load/attach
inline constexpr int kExitLaunchFailed = 6;  // could not start the command
inline constexpr int kExitTraceWriteFailed = 7;  // record: the trace could not be written/completed

}  // namespace hk::analyze
