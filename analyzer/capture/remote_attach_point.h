// RemoteAttachPoint: the attacher's side of libhakmem.so's attach point
// (include/hakmem/attach_format.h), in another running process.
//
// Contract: used by `attach` on its one thread. find() looks for
// libhakmem.so among the process's mappings (/proc/PID/maps), reads the
// address of HK_ATTACH_SYMBOL from the library's dynamic symbol table, and
// checks the point's magic, version and size through process_vm_readv.
// request() and set_gate() write the target's memory with process_vm_writev
// (the kernel allows it to the target's uid and to CAP_SYS_PTRACE), in the
// order the protocol needs. Everything read from the target is data from
// another process and is checked before use. Errors are one line, in
// `why`.
#pragma once

#include <hakmem/attach_format.h>

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace hk::analyze {

class RemoteAttachPoint {
 public:
  // Why find() found nothing.
  enum class Missing {
    no_library,  // libhakmem.so is not mapped: the program runs without it
    not_ready,   // mapped, but its allocator has not initialised yet
    unusable     // unreadable, or not a compatible attach point
  };

  static std::optional<RemoteAttachPoint> find(pid_t pid, Missing* missing, std::string* why);

  // The point as it is now; false (and `why`) when it cannot be read.
  bool read(hk_attach_point& out, std::string* why) const;
  // Asks for a ring named <prefix>.<pid>.<ns> and opens the gate. Returns
  // the request's generation, or 0 (and `why`).
  uint64_t request(const std::string& prefix, uint64_t capacity, uint32_t mode, std::string* why);
  // Stores the gate byte: 0 detaches.
  bool set_gate(uint8_t value, std::string* why) const;

  pid_t pid() const { return pid_; }
  const std::string& library() const { return library_; }

 private:
  RemoteAttachPoint(pid_t pid, uint64_t addr, std::string library)
      : pid_(pid), addr_(addr), library_(std::move(library)) {}
  bool read_at(uint64_t addr, void* buf, size_t len, std::string* why) const;
  bool write_at(uint64_t addr, const void* buf, size_t len, std::string* why) const;

  pid_t pid_;
  uint64_t addr_;  // of the hk_attach_point in the target
  uint64_t gate_ = 0;
  std::string library_;  // its path, as the target's maps name it
};

}  // namespace hk::analyze
