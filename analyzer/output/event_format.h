// One event as one line of text or one JSON object, for ring-dump and events.
//
// Contract: pure functions, any thread; any field values (hostile input) give
// well-formed output. Field names come from event_names.h: unused fields are
// left out, addresses are hex ("0x..." strings in JSON, where a 64-bit number
// would lose precision), a syscall's negative return is signed.
#pragma once

#include <hakmem/events.h>

#include <string>

namespace hk::analyze {

// "123.456789012 tid=42 slab_empty cls=3 addr=0x7f00.. len=65536 ..."
// (timestamp: CLOCK_MONOTONIC seconds).
std::string format_event_text(const hk_event& ev);

// {"ts_ns":..,"tid":..,"type":"slab_empty","type_id":9,"cls":3,...}
std::string format_event_json(const hk_event& ev);

}  // namespace hk::analyze
