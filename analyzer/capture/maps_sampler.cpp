// MapsSampler: traced processes' file-backed layouts. See maps_sampler.h.
#include "capture/maps_sampler.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

namespace hk::analyze {
namespace {

// The dynamic loader maps a program's libraries within milliseconds of its
// exec; reading again after 5, 10, 20... ms catches them in a short-lived
// process without reading a long-lived one more than once per every_ns.
constexpr uint64_t kFirstIntervalNs = 5'000'000;

// The file-backed lines of /proc/<pid>/maps, or nothing when the process is
// gone, a zombie (no memory left) or not ours to read.
std::optional<std::string> file_backed_layout(uint32_t pid) {
  const std::string path = fmt::format("/proc/{}/maps", pid);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string raw;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    raw.append(buf.data(), size_t(n));
  }
  ::close(fd);
  if (raw.empty()) return std::nullopt;
  std::string out;
  std::string_view text = raw;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    // "start-end perms offset dev inode   path": a file path starts with '/'.
    const size_t slash = line.find(" /");
    if (slash == std::string_view::npos) continue;
    out.append(line);
    out += '\n';
  }
  return out;
}

}  // namespace

MapsSampler::MapsSampler(uint64_t every_ns) : every_ns_(every_ns) {}

void MapsSampler::note_slow(uint32_t pid) {
  last_noted_ = pid;
  if (pid) procs_.try_emplace(pid);
}

void MapsSampler::exec(uint32_t pid) {
  if (!pid) return;
  Proc& p = procs_[pid];
  p.due_ns = 0;
  p.interval_ns = 0;
}

void MapsSampler::gone(uint32_t pid) {
  procs_.erase(pid);
  if (last_noted_ == pid) last_noted_ = 0;
}

void MapsSampler::sample(uint64_t now_ns,
                         const std::function<void(uint32_t, const std::string&)>& changed) {
  for (auto it = procs_.begin(); it != procs_.end();) {
    Proc& p = it->second;
    if (p.due_ns > now_ns) {
      ++it;
      continue;
    }
    const uint32_t pid = it->first;
    std::optional<std::string> text = file_backed_layout(pid);
    if (!text) {
      if (last_noted_ == pid) last_noted_ = 0;
      it = procs_.erase(it);
      continue;
    }
    p.interval_ns = std::min(every_ns_, p.interval_ns ? 2 * p.interval_ns : kFirstIntervalNs);
    p.due_ns = now_ns + p.interval_ns;
    if (!text->empty() && *text != p.text) {
      p.text = std::move(*text);
      changed(pid, p.text);
    }
    ++it;
  }
}

}  // namespace hk::analyze
