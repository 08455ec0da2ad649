// Names for the event vocabulary of include/hakmem/events.h.
//
// Contract: pure functions, any thread. Every value read from a ring or a
// trace is hostile, so each lookup takes any integer and answers "unknown"
// (never indexes with an unchecked value). Used by ring-dump, events and
// report, so that one event has one name everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hk::analyze {

// "slab_empty", "drain", ...; "" for a type this build does not know.
std::string_view event_type_name(uint16_t type);

// The reason enum of the type (hk_os_reason, hk_ss_reason, hk_drain_reason)
// as a word, "" when the type has no reason or the value is unknown.
std::string_view event_reason_name(uint16_t type, uint8_t reason);

// What addr, len, a, b and c mean for one type, as field names for text and
// JSON output; "" marks a field the type does not use. Unknown types get the
// raw names.
struct EventFields {
  std::string_view addr, len, a, b, c;
};
const EventFields& event_fields(uint16_t type);

// The hk_sys_kind of a kernel record as a word ("call", "fork", "exec",
// "exit", "faults", "rss"); "" for a kind this build does not know.
std::string_view sys_kind_name(uint32_t kind);


}  // namespace hk::analyze
