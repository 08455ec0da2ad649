// Progress of a long read, drawn on stderr as one self-overwriting line:
// "reading FILE [#########.........]  45%  1.6 of 3.7 GB".
//
// Contract: main thread; one Progress per file read. It draws only when
// stderr is a terminal, --quiet is off and the file is at least kLongRead
// bytes (a smaller one reads in well under a second, and a flash of a bar
// is noise), at most ten times a second, and clears its line when the read
// ends (destructor). Pass it where a ReadProgress is taken: progress.fn().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace hk::analyze {

class Progress {
 public:
  static constexpr uint64_t kLongRead = uint64_t{64} << 20;

  explicit Progress(std::string file);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(uint64_t done, uint64_t total);
  std::function<void(uint64_t, uint64_t)> fn() {
    return [this](uint64_t done, uint64_t total) { update(done, total); };
  }

 private:
  std::string file_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace hk::analyze
