// How the analyzer's bounded JSON documents (report, diff) are written:
// nlohmann::ordered_json, so keys keep the order the schema lists them in,
// dumped with two-space indentation and a final newline. Bytes that are not
// UTF-8 (a hostile trace's strings) are replaced, never thrown on; a NaN or
// infinity becomes null, since JSON has neither.
//
// Contract: pure function, any thread. Streaming outputs (the Perfetto
// export) do not come through here: they are formatted as they go.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace hk::analyze {

// A double that holds a whole number (a count carried as evidence) is
// written as an integer, "6" rather than "6.0", as readers of the
// schema's counts expect.
inline nlohmann::ordered_json json_number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9007199254740992.0)
    return static_cast<int64_t>(v);
  return v;
}

inline std::string dump_json(const nlohmann::ordered_json& j) {
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace hk::analyze
