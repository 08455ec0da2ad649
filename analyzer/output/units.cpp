#include "output/units.h"

#include <fmt/format.h>

namespace hk::analyze {

std::string format_ns(uint64_t ns) {
  const double v = static_cast<double>(ns);
  if (ns < 1'000) return fmt::format("{} ns", ns);
  if (ns < 1'000'000) return fmt::format("{:.1f} us", v / 1e3);
  if (ns < 1'000'000'000) return fmt::format("{:.1f} ms", v / 1e6);
  return fmt::format("{:.2f} s", v / 1e9);
}

std::string format_bytes(uint64_t bytes) {
  const double v = static_cast<double>(bytes);
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < (uint64_t{1} << 20)) return fmt::format("{:.1f} KiB", v / 1024);
  if (bytes < (uint64_t{1} << 30)) return fmt::format("{:.1f} MiB", v / (1024.0 * 1024));
  return fmt::format("{:.2f} GiB", v / (1024.0 * 1024 * 1024));
}

}  // namespace hk::analyze
