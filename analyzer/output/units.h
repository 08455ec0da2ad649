// Human-readable units for report text: durations and byte counts.
//
// Contract: pure functions, any thread. Output is short and fixed-form
// ("12.3 us", "4.0 MiB") so that tables align.
#pragma once

#include <cstdint>
#include <string>

namespace hk::analyze {

std::string format_ns(uint64_t ns);
std::string format_bytes(uint64_t bytes);

}  // namespace hk::analyze
