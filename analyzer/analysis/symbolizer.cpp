#include "analysis/symbolizer.h"

#include <elfutils/libdwfl.h>
#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <vector>

namespace hk::analyze {

namespace {

struct FileMapping {
  uint64_t start = 0, end = 0, offset = 0;
  std::string path;
};

bool parse_hex(std::string_view s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

// One /proc/<pid>/maps line: "start-end perms offset dev inode   path".
bool parse_line(std::string_view line, FileMapping& m) {
  std::vector<std::string_view> f;
  size_t i = 0;
  while (i < line.size() && f.size() < 5) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    if (j > i) f.push_back(line.substr(i, j - i));
    i = j;
  }
  while (i < line.size() && line[i] == ' ') ++i;
  if (f.size() < 5 || i >= line.size() || line[i] != '/') return false;
  const size_t dash = f[0].find('-');
  if (dash == std::string_view::npos) return false;
  if (!parse_hex(f[0].substr(0, dash), m.start) || !parse_hex(f[0].substr(dash + 1), m.end) ||
      !parse_hex(f[2], m.offset))
    return false;
  m.path = std::string(line.substr(i));
  return m.start < m.end;
}

}  // namespace

struct Symbolizer::Process {
  Dwfl* dwfl = nullptr;
  ~Process() {
    if (dwfl) dwfl_end(dwfl);
  }
};

Symbolizer::Symbolizer(const TraceMeta& meta) {
  for (const auto& [key, value] : meta) {
    if (key.rfind("maps.", 0) != 0) continue;
    unsigned long pid = std::strtoul(key.c_str() + 5, nullptr, 10);
    if (pid > 0 && pid <= UINT32_MAX) maps_[static_cast<uint32_t>(pid)] = value;
  }
}

Symbolizer::~Symbolizer() = default;

bool Symbolizer::has_layout(uint32_t pid) const { return maps_.count(pid) != 0; }

Symbolizer::Process* Symbolizer::process(uint32_t pid) {
  auto it = procs_.find(pid);
  if (it != procs_.end()) return it->second.get();
  auto proc = std::make_unique<Process>();
  auto m = maps_.find(pid);
  if (m != maps_.end()) {
    static const Dwfl_Callbacks callbacks = {
        .find_elf = dwfl_build_id_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .section_address = dwfl_offline_section_address,
        .debuginfo_path = nullptr,
    };
    proc->dwfl = dwfl_begin(&callbacks);
    if (proc->dwfl) {
      dwfl_report_begin(proc->dwfl);
      std::string_view text = m->second;
      std::map<std::string, bool> reported;
      while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        FileMapping fm;
        // The mapping at file offset 0 is where the ELF header sits, which
        // makes its start the module's load bias for PIE and shared objects.
        if (!parse_line(line, fm) || fm.offset != 0 || reported[fm.path]) continue;
        reported[fm.path] = true;
        dwfl_report_elf(proc->dwfl, fm.path.c_str(), fm.path.c_str(), -1, fm.start, false);
      }
      dwfl_report_end(proc->dwfl, nullptr, nullptr);
    }
  }
  Process* raw = proc.get();
  procs_[pid] = std::move(proc);
  return raw;
}

std::string Symbolizer::name(uint32_t pid, uint64_t addr) {
  Process* p = process(pid);
  if (!p->dwfl || addr == 0) return {};
  // A return address points after the call; step back into the call itself.
  const Dwarf_Addr pc = addr - 1;
  Dwfl_Module* mod = dwfl_addrmodule(p->dwfl, pc);
  if (!mod) return {};
  Dwarf_Addr low = 0;
  const char* modname = dwfl_module_info(mod, nullptr, &low, nullptr, nullptr, nullptr, nullptr, nullptr);
  std::string module = modname ? modname : "?";
  if (size_t slash = module.rfind('/'); slash != std::string::npos) module = module.substr(slash + 1);
  GElf_Off off = 0;
  GElf_Sym sym;
  const char* fn = dwfl_module_addrinfo(mod, pc, &off, &sym, nullptr, nullptr, nullptr);
  if (fn) return fmt::format("{}+{:#x} ({})", fn, off + 1, module);
  return fmt::format("({}+{:#x})", module, addr - low);
}

}  // namespace hk::analyze
