// `hakmem-analyze events`: both sources of a trace, merged in time order
// (Timeline: allocator events by ts_ns, syscalls by enter_ns).
//
// Text: one aligned row per record: time in seconds since the recording
// started (META start_mono_ns), pid, tid, source, name, address, length,
// then the type's own fields as name=value.
// JSON lines; keys every line has: t_ns (since the start), source ("alloc"
// or "kernel"), pid, tid, type. Allocator lines continue as ring-dump's
// (event_format.h: ts_ns, type_id, cls, reason and the type's named
// fields, addresses as "0x..." strings). Kernel lines add kind
// (call/fork/exec/exit), nr, args[6], ret (signed), enter_ns, exit_ns,
// caller ("0x..."), stack_id, cpu and seq.
#include "cli/command.h"
#include "output/event_format.h"
#include "trace/event_names.h"
#include "cli/exit_codes.h"
#include "analysis/syscall_table.h"
#include "analysis/timeline.h"
#include "trace/trace_file.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <optional>
#include <set>

namespace hk::analyze {
namespace {

struct EventsOptions {
  std::string file;
  bool json = false;
  std::optional<uint32_t> pid, tid;
  std::vector<std::string> types;
  std::string source;  // "", "alloc" or "kernel"
  std::optional<uint64_t> since, until;  // ns after the recording's start
  std::optional<uint64_t> limit;
};

// A listing places a call where it began. The probe writes a record only
// when the call returns, so a slow call reaches the trace later than its
// time by its duration: a second of slack covers that on top of the
// recorder's rounds, and 1 Mi records (~110 MiB) bound what it holds.
constexpr TimelineLimits kListingLimits{1'000'000'000, size_t{1} << 20};

// One record of the merged stream: an allocator event of ring `pid`, or a
// syscall (sys set).
struct TimedRecord {
  uint64_t t_ns = 0;
  uint32_t pid = 0;
  const hk_event* ev = nullptr;
  const hk_sys_record* sys = nullptr;
  bool kernel() const { return sys != nullptr; }
};

std::string kernel_type(const hk_sys_record& s) {
  switch (s.kind) {
    case HK_SYS_CALL: return syscall_name(s.nr);
    case HK_SYS_FORK: return "fork";
    case HK_SYS_EXEC: return "exec";
    case HK_SYS_EXIT: return "exit";
    case HK_SYS_FAULTS: return "faults";
    case HK_SYS_RSS: return "rss";
    default: return fmt::format("kind_{}", s.kind);
  }
}

std::string alloc_type(const hk_event& e) {
  std::string_view n = event_type_name(e.type);
  return n.empty() ? fmt::format("type_{}", e.type) : std::string(n);
}

std::set<std::string> known_types() {
  std::set<std::string> names{"fork", "exec", "exit"};
  for (uint16_t t = 1; t < HK_EV_TYPE_COUNT; ++t) names.emplace(event_type_name(t));
  for (uint32_t nr : {HK_NR_MMAP, HK_NR_MUNMAP, HK_NR_BRK, HK_NR_MREMAP, HK_NR_MADVISE})
    names.insert(syscall_name(nr));
  return names;
}

std::string_view advice_name(uint64_t advice) {
  switch (advice) {
    case 0: return "normal";
    case 1: return "random";
    case 2: return "sequential";
    case 3: return "willneed";
    case 4: return "dontneed";
    case 8: return "free";
    case 9: return "remove";
    case 14: return "hugepage";
    case 15: return "nohugepage";
    case 21: return "cold";
    case 22: return "pageout";
    default: return {};
  }
}

// The address and length a syscall is about, as the join sees them.
std::pair<uint64_t, uint64_t> kernel_range(const hk_sys_record& s) {
  if (s.kind != HK_SYS_CALL) return {0, 0};
  switch (s.nr) {
    case HK_NR_MMAP: return {s.ret >= 0 ? uint64_t(s.ret) : s.args[0], s.args[1]};
    case HK_NR_BRK: return {s.args[0], 0};
    default: return {s.args[0], s.args[1]};
  }
}

std::string kernel_details(const hk_sys_record& s) {
  std::string d;
  switch (s.kind) {
    case HK_SYS_FORK:
      return fmt::format("child={} child_tid={}", s.args[0], s.args[1]);
    case HK_SYS_EXEC:
    case HK_SYS_EXIT:
      return d;
    case HK_SYS_FAULTS:
      return fmt::format("faults={} lo={:#x} hi={:#x} timed={} timed_ns={} writes={} ip={:#x}", s.args[2],
                         s.args[0], s.args[1], s.args[3], s.args[4], s.args[5], s.caller);
    case HK_SYS_RSS:
      return fmt::format("file_pages={} anon_pages={} swap={} shmem_pages={} peak_pages={}", s.args[0],
                         s.args[1], s.args[2], s.args[3], s.args[4]);
    default: break;
  }
  switch (s.nr) {
    case HK_NR_MMAP:
      d = fmt::format("hint={:#x} prot={:#x} flags={:#x} fd={} off={}", s.args[0], s.args[2],
                      s.args[3], int32_t(s.args[4]), s.args[5]);
      break;
    case HK_NR_MREMAP:
      d = fmt::format("new_len={} flags={:#x} new_addr={:#x}", s.args[2], s.args[3], s.args[4]);
      break;
    case HK_NR_MADVISE: {
      auto n = advice_name(s.args[2]);
      d = n.empty() ? fmt::format("advice={}", s.args[2]) : fmt::format("advice={}", n);
      break;
    }
    default: break;
  }
  if (!d.empty()) d += ' ';
  if (s.ret < 0 && s.ret >= -4095) d += fmt::format("ret=-{}", -s.ret);
  else d += fmt::format("ret={:#x}", uint64_t(s.ret));
  d += fmt::format(" dur={}ns", s.exit_ns >= s.enter_ns ? s.exit_ns - s.enter_ns : 0);
  if (s.caller) d += fmt::format(" caller={:#x}", s.caller);
  return d;
}

std::string alloc_details(const hk_event& e) {
  const EventFields& f = event_fields(e.type);
  std::string d;
  auto add = [&](std::string_view name, const std::string& v) {
    if (name.empty()) return;
    if (!d.empty()) d += ' ';
    d += fmt::format("{}={}", name, v);
  };
  if (e.cls != HK_CLASS_NONE) add("cls", std::to_string(e.cls));
  std::string_view reason = event_reason_name(e.type, e.reason);
  if (!reason.empty()) add("reason", std::string(reason));
  else if (e.reason) add("reason", std::to_string(e.reason));
  // addr and len get their own columns when they are an address and a length.
  if (f.addr != "addr") add(f.addr, std::to_string(e.addr));
  if (f.len != "len") add(f.len, std::to_string(e.len));
  if (e.type == HK_EV_OS_MMAP || e.type == HK_EV_OS_MUNMAP || e.type == HK_EV_OS_MADVISE) {
    add(f.a, int64_t(e.a) < 0 ? std::to_string(int64_t(e.a)) : fmt::format("{:#x}", e.a));
    if (e.type == HK_EV_OS_MADVISE) {
      auto n = advice_name(e.b);
      add(f.b, n.empty() ? std::to_string(e.b) : std::string(n));
    }
    return d;
  }
  add(f.a, std::to_string(e.a));
  add(f.b, std::to_string(e.b));
  add(f.c, std::to_string(e.c));
  return d;
}

void print_json(fmt::memory_buffer& out, const TimedRecord& r, int64_t rel) {
  if (r.kernel()) {
    const hk_sys_record& s = *r.sys;
    const std::string_view kind = sys_kind_name(s.kind);
    fmt::format_to(std::back_inserter(out),
                   "{{\"t_ns\":{},\"source\":\"kernel\",\"pid\":{},\"tid\":{},"
                   "\"type\":\"{}\",\"kind\":\"{}\",\"nr\":{},\"args\":[{},{},{},{},{},{}],"
                   "\"ret\":{},\"enter_ns\":{},\"exit_ns\":{},\"caller\":\"{:#x}\","
                   "\"stack_id\":{},\"cpu\":{},\"seq\":{}}}\n",
                   rel, s.pid, s.tid, kernel_type(s),
                   kind.empty() ? "unknown" : kind, s.nr, s.args[0], s.args[1],
                   s.args[2], s.args[3], s.args[4], s.args[5], int64_t(s.ret), s.enter_ns,
                   s.exit_ns, s.caller, s.stack_id, s.cpu, s.seq);
    return;
  }
  // The event itself renders as ring-dump renders it; the merged stream adds
  // where it sits in the recording and whose ring it came from.
  const std::string ev = format_event_json(*r.ev);
  fmt::format_to(std::back_inserter(out), "{{\"t_ns\":{},\"source\":\"alloc\",\"pid\":{},{}\n", rel,
                 r.pid, std::string_view(ev).substr(1));
}

void print_text(fmt::memory_buffer& out, const TimedRecord& r, int64_t rel) {
  std::string addr = "-", len = "-", name, details;
  uint32_t tid;
  if (r.kernel()) {
    auto [a, l] = kernel_range(*r.sys);
    if (r.sys->kind == HK_SYS_CALL) {
      addr = fmt::format("{:#x}", a);
      if (r.sys->nr != HK_NR_BRK) len = std::to_string(l);
    }
    name = kernel_type(*r.sys);
    details = kernel_details(*r.sys);
    tid = r.sys->tid;
  } else {
    const EventFields& f = event_fields(r.ev->type);
    if (f.addr == "addr") addr = fmt::format("{:#x}", r.ev->addr);
    if (f.len == "len") len = std::to_string(r.ev->len);
    name = alloc_type(*r.ev);
    details = alloc_details(*r.ev);
    tid = r.ev->tid;
  }
  fmt::format_to(std::back_inserter(out), "{:>14.9f} {:>7} {:>7} {:<6} {:<17} {:>14} {:>10} {}\n",
                 double(rel) / 1e9, r.pid, tid, r.kernel() ? "kernel" : "alloc", name, addr, len,
                 details);
}

// Filters and prints the merged stream, flushing in 64 KiB pieces.
class Listing : public TimelineSink {
 public:
  Listing(const EventsOptions& o, std::set<std::string> types, std::optional<uint64_t> start)
      : o_(o), types_(std::move(types)), start_(start) {
    if (!o_.json)
      fmt::format_to(std::back_inserter(out_), "{:>14} {:>7} {:>7} {:<6} {:<17} {:>14} {:>10} {}\n",
                     "TIME(s)", "PID", "TID", "SOURCE", "NAME", "ADDR", "LEN", "DETAILS");
  }
  bool full() const { return o_.limit && shown_ >= *o_.limit; }
  void flush() {
    write();
    std::fflush(stdout);
  }

 private:
  void write() {
    std::fwrite(out_.data(), 1, out_.size(), stdout);
    out_.clear();
  }
  void on_event(uint32_t pid, const hk_event& ev) override { show({ev.ts_ns, pid, &ev, nullptr}); }
  void on_syscall(const hk_sys_record& rec) override {
    show({rec.enter_ns, rec.pid, nullptr, &rec});
  }

  void show(const TimedRecord& r) {
    if (full()) return;
    if (!start_) start_ = r.t_ns;
    int64_t rel = int64_t(r.t_ns - *start_);
    if (o_.source == "alloc" && r.kernel()) return;
    if (o_.source == "kernel" && !r.kernel()) return;
    uint32_t tid = r.kernel() ? r.sys->tid : r.ev->tid;
    if (o_.pid && r.pid != *o_.pid) return;
    if (o_.tid && tid != *o_.tid) return;
    if (o_.since && rel < int64_t(*o_.since)) return;
    if (o_.until && rel > int64_t(*o_.until)) return;
    if (!types_.empty() && !types_.count(r.kernel() ? kernel_type(*r.sys) : alloc_type(*r.ev)))
      return;
    if (o_.json) print_json(out_, r, rel);
    else print_text(out_, r, rel);
    ++shown_;
    if (out_.size() >= (1u << 16)) write();
  }

  const EventsOptions& o_;
  std::set<std::string> types_;
  std::optional<uint64_t> start_;
  fmt::memory_buffer out_;
  uint64_t shown_ = 0;
};

int run_events(const EventsOptions& o) {
  std::set<std::string> types(o.types.begin(), o.types.end());
  if (!types.empty()) {
    auto known = known_types();
    for (const auto& t : types)
      if (!known.count(t)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fmt::print(stderr, "hakmem-analyze events: unknown --type '{}' (known: {})\n", t, list);
        return kExitBadInput;
      }
  }
  try {
    TraceReader reader(o.file);
    std::optional<uint64_t> start;
    if (auto it = reader.meta().find("start_mono_ns"); it != reader.meta().end()) {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
      if (ec == std::errc{} && p == it->second.data() + it->second.size()) start = v;
    }
    Listing listing(o, std::move(types), start);
    Timeline merged(listing, kListingLimits, SyscallTime::enter);
    TraceChunk chunk;
    while (!listing.full() && reader.next(chunk)) merged.push_chunk(chunk);
    if (!listing.full()) merged.finish();
    listing.flush();
    if (reader.truncated())
      fmt::print(stderr, "hakmem-analyze events: {} is truncated ({}); shown up to its last whole chunk\n",
                 o.file, reader.truncation_reason());
    if (merged.out_of_order())
      fmt::print(stderr,
                 "hakmem-analyze events: {} records arrived more than {} ms behind newer ones "
                 "and are printed out of order\n",
                 merged.out_of_order(), kListingLimits.slack_ns / 1'000'000);
  } catch (const TraceError& e) {
    std::fflush(stdout);
    fmt::print(stderr, "hakmem-analyze events: {}\n", e.what());
    return kExitBadInput;
  }
  return kExitOk;
}

Register reg{Command{
    "events",
    "Print a trace's allocator events and syscalls merged in time order",
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<EventsOptions>();
      sub.add_option("file", o->file, "trace file written by `record`")->required();
      sub.add_flag("--json", o->json, "one JSON object per line (stable keys)");
      sub.add_option("--pid", o->pid, "only this process (the ring owner, or the syscall's tgid)");
      sub.add_option("--tid", o->tid, "only this thread");
      sub.add_option("--type", o->types, "only these event or syscall names (repeatable)");
      sub.add_option("--source", o->source, "only one source")
          ->check(CLI::IsMember({"alloc", "kernel"}));
      sub.add_option("--since", o->since, "only records at least NS ns after the start");
      sub.add_option("--until", o->until, "only records at most NS ns after the start");
      sub.add_option("--limit", o->limit, "print at most N records");
      sub.footer("Examples:\n"
                 "  hakmem-analyze events run.trace --type ss_map --type munmap\n"
                 "  hakmem-analyze events run.trace --source kernel --json --limit 100");
      return [o] { return run_events(*o); };
    }}};

}  // namespace
}  // namespace hk::analyze
