// Text and JSON renderings of one event.
#include "output/event_format.h"

#include "trace/event_names.h"

#include <fmt/format.h>

#include <iterator>
#include <string_view>

namespace hk::analyze {

namespace {

enum class Kind { Number, Address, Return };

Kind kind_of(std::string_view field) {
  if (field == "addr") return Kind::Address;
  if (field == "ret") return Kind::Return;
  return Kind::Number;
}

// Calls f(name, kind, value) for each field the event's type uses.
template <typename F>
void for_each_field(const hk_event& ev, F&& f) {
  const EventFields& n = event_fields(ev.type);
  const std::pair<std::string_view, uint64_t> fields[] = {
      {n.addr, ev.addr}, {n.len, ev.len}, {n.a, ev.a}, {n.b, ev.b}, {n.c, ev.c}};
  for (const auto& [name, value] : fields)
    if (!name.empty()) f(name, kind_of(name), value);
}

void append_value(std::string& s, Kind kind, uint64_t v, bool json) {
  const bool negative = kind == Kind::Return && int64_t(v) < 0;
  if (negative) {
    fmt::format_to(std::back_inserter(s), "{}", int64_t(v));
  } else if (kind != Kind::Number) {
    if (json) s += '"';
    fmt::format_to(std::back_inserter(s), "{:#x}", v);
    if (json) s += '"';
  } else {
    fmt::format_to(std::back_inserter(s), "{}", v);
  }
}

}  // namespace

std::string format_event_text(const hk_event& ev) {
  std::string s;
  auto out = std::back_inserter(s);
  fmt::format_to(out, "{}.{:09} tid={} ", ev.ts_ns / 1000000000u, ev.ts_ns % 1000000000u, ev.tid);
  const std::string_view name = event_type_name(ev.type);
  if (name.empty())
    fmt::format_to(out, "unknown({})", ev.type);
  else
    s += name;
  if (ev.cls != HK_CLASS_NONE) fmt::format_to(out, " cls={}", ev.cls);
  if (ev.reason != 0) {
    const std::string_view why = event_reason_name(ev.type, ev.reason);
    if (why.empty())
      fmt::format_to(out, " reason={}", ev.reason);
    else
      fmt::format_to(out, " reason={}", why);
  }
  for_each_field(ev, [&](std::string_view field, Kind kind, uint64_t v) {
    fmt::format_to(out, " {}=", field);
    append_value(s, kind, v, false);
  });
  return s;
}

std::string format_event_json(const hk_event& ev) {
  std::string s;
  auto out = std::back_inserter(s);
  const std::string_view name = event_type_name(ev.type);
  fmt::format_to(out, R"({{"ts_ns":{},"tid":{},"type":"{}","type_id":{})", ev.ts_ns, ev.tid,
                 name.empty() ? "unknown" : name, ev.type);
  if (ev.cls != HK_CLASS_NONE) fmt::format_to(out, R"(,"cls":{})", ev.cls);
  if (ev.reason != 0) {
    const std::string_view why = event_reason_name(ev.type, ev.reason);
    if (why.empty())
      fmt::format_to(out, R"(,"reason":{})", ev.reason);
    else
      fmt::format_to(out, R"(,"reason":"{}")", why);
  }
  for_each_field(ev, [&](std::string_view field, Kind kind, uint64_t v) {
    fmt::format_to(out, R"(,"{}":)", field);
    append_value(s, kind, v, true);
  });
  s += '}';
  return s;
}

}  // namespace hk::analyze
