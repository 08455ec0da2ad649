// Options of hakmem-analyze that every subcommand honours: --quiet and
// --color. main() sets them while parsing; commands read them when they run.
//
// Contract: main thread only; set before any command runs, read-only after.
#pragma once

#include <cstdio>
#include <string>

namespace hk::analyze {

struct GlobalOptions {
  bool quiet = false;          // no progress display, no summary lines on stderr
  std::string color = "auto";  // auto (only on a TTY), always or never
};

GlobalOptions& global_options();

// Whether text written to `to` gets ANSI colour: --color always or never,
// or auto: only when `to` is a terminal.
bool use_colour(std::FILE* to);

}  // namespace hk::analyze
