// RemoteAttachPoint: finding and writing a running process's attach point.
// See remote_attach_point.h.
#include "capture/remote_attach_point.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <sstream>

namespace hk::analyze {
namespace {

struct Mapping {
  uint64_t start = 0;
  uint64_t offset = 0;
  std::string path;
};

// The lowest mapping of file offset 0 of the first mapped file whose name
// is libhakmem*.so*: where the loader put the library's first page.
std::optional<Mapping> find_library(pid_t pid) {
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, path;
    if (!(in >> range >> perms >> offset >> dev >> inode >> path)) continue;
    const size_t slash = path.rfind('/');
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (path[0] != '/' || base.rfind("libhakmem", 0) != 0 || base.find(".so") == std::string::npos)
      continue;
    Mapping m;
    m.start = std::strtoull(range.c_str(), nullptr, 16);
    m.offset = std::strtoull(offset.c_str(), nullptr, 16);
    m.path = path;
    if (m.offset == 0) return m;
  }
  return std::nullopt;
}

// The symbol's value and the lowest PT_LOAD address, from the file.
bool symbol_in_file(const std::string& file, uint64_t& value, uint64_t& first_load, std::string* why) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = fmt::format("cannot open {}: {}", file, std::strerror(errno));
    return false;
  }
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  bool found = false, have_load = false;
  size_t phnum = 0;
  if (elf && elf_getphdrnum(elf, &phnum) == 0) {
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf, int(i), &ph) && ph.p_type == PT_LOAD && (!have_load || ph.p_vaddr < first_load)) {
        first_load = ph.p_vaddr;
        have_load = true;
      }
    }
  }
  for (Elf_Scn* scn = elf ? elf_nextscn(elf, nullptr) : nullptr; scn && !found; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    const size_t n = data ? sh.sh_size / sh.sh_entsize : 0;
    for (size_t i = 0; i < n; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, int(i), &sym) || sym.st_shndx == SHN_UNDEF) continue;
      const char* name = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (name && std::strcmp(name, HK_ATTACH_SYMBOL) == 0 && sym.st_size == sizeof(hk_attach_point)) {
        value = sym.st_value;
        found = true;
        break;
      }
    }
  }
  if (elf) elf_end(elf);
  ::close(fd);
  if (!found || !have_load)
    *why = fmt::format("{} has no {} of this version's size: a libhakmem.so too old or too new to attach to",
                       file, HK_ATTACH_SYMBOL);
  return found && have_load;
}

}  // namespace

std::optional<RemoteAttachPoint> RemoteAttachPoint::find(pid_t pid, Missing* missing, std::string* why) {
  const auto lib = find_library(pid);
  if (!lib) {
    *missing = Missing::no_library;
    *why = fmt::format("pid {} does not run under libhakmem.so", pid);
    return std::nullopt;
  }
  *missing = Missing::unusable;
  uint64_t value = 0, first_load = 0;
  // Through the target's root: the path in its maps is in its mount view.
  if (!symbol_in_file(fmt::format("/proc/{}/root{}", pid, lib->path), value, first_load, why))
    return std::nullopt;
  RemoteAttachPoint p(pid, lib->start - (first_load & ~uint64_t(4095)) + value, lib->path);
  hk_attach_point cur;
  if (!p.read(cur, why)) return std::nullopt;
  if (cur.magic != HK_ATTACH_MAGIC) {
    *missing = Missing::not_ready;
    *why = fmt::format("libhakmem.so in pid {} has not initialised yet", pid);
    return std::nullopt;
  }
  if (cur.version != HK_ATTACH_VERSION || cur.size != sizeof(hk_attach_point)) {
    *why = fmt::format("libhakmem.so in pid {} has attach point version {} (size {}); this hakmem-analyze speaks "
                       "version {}",
                       pid, cur.version, cur.size, HK_ATTACH_VERSION);
    return std::nullopt;
  }
  p.gate_ = cur.gate_addr;
  return p;
}

bool RemoteAttachPoint::read_at(uint64_t addr, void* buf, size_t len, std::string* why) const {
  iovec local{buf, len}, remote{reinterpret_cast<void*>(addr), len};
  const ssize_t n = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (n == ssize_t(len)) return true;
  *why = fmt::format("cannot read pid {}'s memory: {}", pid_, n < 0 ? std::strerror(errno) : "short read");
  return false;
}

bool RemoteAttachPoint::write_at(uint64_t addr, const void* buf, size_t len, std::string* why) const {
  iovec local{const_cast<void*>(buf), len}, remote{reinterpret_cast<void*>(addr), len};
  const ssize_t n = process_vm_writev(pid_, &local, 1, &remote, 1, 0);
  if (n == ssize_t(len)) return true;
  *why = fmt::format("cannot write pid {}'s memory: {}", pid_, n < 0 ? std::strerror(errno) : "short write");
  return false;
}

bool RemoteAttachPoint::read(hk_attach_point& out, std::string* why) const {
  return read_at(addr_, &out, sizeof out, why);
}

uint64_t RemoteAttachPoint::request(const std::string& prefix, uint64_t capacity, uint32_t mode, std::string* why) {
  hk_attach_point cur;
  if (!read(cur, why)) return 0;
  if (prefix.size() >= HK_ATTACH_PREFIX_MAX) {
    *why = fmt::format("ring path {} is too long for the attach point", prefix);
    return 0;
  }
  // The request's fields, then its generation, then (in another write, so
  // the library sees them complete) the gate.
  char name[HK_ATTACH_PREFIX_MAX] = {};
  std::memcpy(name, prefix.data(), prefix.size());
  const uint64_t generation = cur.served + 1;
  if (!write_at(addr_ + offsetof(hk_attach_point, capacity), &capacity, sizeof capacity, why) ||
      !write_at(addr_ + offsetof(hk_attach_point, mode), &mode, sizeof mode, why) ||
      !write_at(addr_ + offsetof(hk_attach_point, prefix), name, sizeof name, why) ||
      !write_at(addr_ + offsetof(hk_attach_point, request), &generation, sizeof generation, why) ||
      !set_gate(1, why))
    return 0;
  return generation;
}

bool RemoteAttachPoint::set_gate(uint8_t value, std::string* why) const {
  return write_at(gate_, &value, 1, why);
}

}  // namespace hk::analyze
