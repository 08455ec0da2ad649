#include "cli/progress.h"

#include "cli/global_options.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace hk::analyze {

Progress::Progress(std::string file)
    : file_(std::move(file)), enabled_(!global_options().quiet && isatty(STDERR_FILENO)) {}

Progress::~Progress() {
  if (drawn_) fmt::print(stderr, "\r\x1b[K");
}

void Progress::update(uint64_t done, uint64_t total) {
  if (!enabled_ || total < kLongRead) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done < total) return;
  last_ = now;
  drawn_ = true;
  constexpr int kWidth = 30;
  const double f = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int full = static_cast<int>(f * kWidth);
  fmt::print(stderr, "\rreading {} [{:#<{}}{:.<{}}] {:3.0f}%  {:.1f} of {:.1f} GB\x1b[K", file_, "", full, "",
             kWidth - full, 100.0 * f, static_cast<double>(done) / 1e9, static_cast<double>(total) / 1e9);
  std::fflush(stderr);
}

}  // namespace hk::analyze
