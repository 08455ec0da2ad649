#include "output/perfetto_export.h"

#include "analysis/join.h"
#include "analysis/syscall_table.h"
#include "analysis/timeline.h"
#include "output/event_format.h"
#include "output/units.h"
#include "trace/event_names.h"
#include "trace/trace_file.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <unordered_map>

namespace hk::analyze {

namespace {

// A thread's kernel track is a thread of its own in the format; its id is
// the tid with this bit set (tids stay below 2^22, pid_max's ceiling).
constexpr uint32_t kKernelTrack = 1u << 30;
// The output is handed to stdio in pieces of this size.
constexpr size_t kFlushBytes = 1u << 20;

// The writer's streaming is the point here (a 50M-event trace gives
// gigabytes of JSON), so records are formatted straight into a buffer; only
// the few free-text strings (the command line) go through nlohmann::json
// for their escaping.
std::string json_string(const std::string& s) { return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

class Exporter final : private TimelineSink, private JoinSink {
 public:
  Exporter(std::FILE* out) : out_(out), timeline_(*this), join_(*this) {}

  ExportStats run(const std::string& path, const std::function<void(uint64_t, uint64_t)>& progress) {
    TraceReader reader(path);
    const TraceMeta& meta = reader.meta();
    if (auto it = meta.find("start_mono_ns"); it != meta.end()) t0_ = std::strtoull(it->second.c_str(), nullptr, 10);
    std::string command = meta.count("command") ? meta.at("command") : "";
    fmt::format_to(std::back_inserter(buf_),
                   "{{\"displayTimeUnit\":\"ns\",\"otherData\":{{\"source\":{},\"command\":{},"
                   "\"exported_by\":\"hakmem-analyze " HAKMEM_VERSION "\"}},\"traceEvents\":[\n",
                   json_string(path), json_string(command));
    TraceChunk chunk;
    while (reader.next(chunk)) {
      timeline_.push_chunk(chunk);
      if (progress) progress(reader.offset(), reader.size());
    }
    timeline_.finish();
    join_.finish();
    for (auto& [tid, q] : kernel_) flush_kernel(q, true);
    buf_.append(std::string_view("\n]}\n"));
    write(true);
    return stats_;
  }

 private:
  // One pending syscall on a kernel track.
  struct Held {
    hk_sys_record rec;
    bool resolved = false;
    uint64_t flow = 0;  // 0: none
  };
  struct Proc {
    uint64_t mapped = 0;
  };

  void write(bool all) {
    if (!all && buf_.size() < kFlushBytes) return;
    if (std::fwrite(buf_.data(), 1, buf_.size(), out_) != buf_.size())
      throw std::runtime_error(fmt::format("write failed: {}", std::strerror(errno)));
    stats_.bytes += buf_.size();
    buf_.clear();
  }
  void sep() {
    if (first_) first_ = false;
    else buf_.append(std::string_view(",\n"));
  }
  // Microseconds since the start, never before the track's last time.
  std::string ts(uint64_t track, uint64_t ns) {
    if (!t0_set_) {
      if (t0_ == 0) t0_ = ns;
      t0_set_ = true;
    }
    uint64_t rel = ns > t0_ ? ns - t0_ : 0;
    uint64_t& last = last_ts_[track];
    if (rel < last) {
      rel = last;
      ++stats_.moved_up;
    }
    last = rel;
    return fmt::format("{}.{:03}", rel / 1000, rel % 1000);
  }
  static uint64_t alloc_track(uint32_t tid) { return uint64_t{tid} << 8; }
  static uint64_t kernel_track(uint32_t tid) { return (uint64_t{tid} << 8) | 1; }
  uint64_t counter_track(uint32_t pid, const std::string& name) {
    auto [it, fresh] = counter_ids_.try_emplace(fmt::format("{}/{}", pid, name), counter_ids_.size());
    return (uint64_t{1} << 63) | it->second;
  }

  void name_thread(uint32_t pid, uint32_t tid) {
    if (!named_.try_emplace(tid, true).second) return;
    if (named_pids_.try_emplace(pid, true).second) {
      sep();
      fmt::format_to(std::back_inserter(buf_),
                     R"({{"ph":"M","name":"process_name","pid":{},"tid":{},"args":{{"name":"pid {}"}}}})", pid, pid,
                     pid);
    }
    for (int k = 0; k < 2; ++k) {
      const uint32_t t = k ? tid | kKernelTrack : tid;
      sep();
      fmt::format_to(std::back_inserter(buf_),
                     R"({{"ph":"M","name":"thread_name","pid":{},"tid":{},"args":{{"name":"tid {} {}"}}}})", pid, t,
                     tid, k ? "kernel" : "allocator");
      sep();
      fmt::format_to(std::back_inserter(buf_),
                     R"({{"ph":"M","name":"thread_sort_index","pid":{},"tid":{},"args":{{"sort_index":{}}}}})", pid,
                     t, 2 * uint64_t{tid} + k);
    }
  }

  void counter(uint32_t pid, const std::string& name, uint64_t ns, const std::string& args) {
    const std::string t = ts(counter_track(pid, name), ns);
    sep();
    fmt::format_to(std::back_inserter(buf_), R"({{"ph":"C","name":"{}","pid":{},"tid":{},"ts":{},"args":{}}})", name,
                   pid, pid, t, args);
    ++stats_.counters;
  }

  // --- the allocator's side
  void on_event(uint32_t pid, const hk_event& ev) override {
    name_thread(pid, ev.tid);
    flow_ = 0;
    if (Join::joinable_event(ev)) {
      current_ = &ev;
      join_.on_event(pid, ev);
      current_ = nullptr;
    }
    const std::string_view type = event_type_name(ev.type);
    const std::string t = ts(alloc_track(ev.tid), ev.ts_ns);
    sep();
    fmt::format_to(std::back_inserter(buf_),
                   R"({{"ph":"X","cat":"allocator","name":"{}","pid":{},"tid":{},"ts":{},"dur":0,"args":{}}})",
                   type.empty() ? "unknown" : type, pid, ev.tid, t, format_event_json(ev));
    ++stats_.events;
    if (flow_) {
      sep();
      fmt::format_to(std::back_inserter(buf_),
                     R"({{"ph":"f","bp":"e","cat":"join","name":"syscall","id":{},"pid":{},"tid":{},"ts":{}}})", flow_,
                     pid, ev.tid, t);
    }
    counters_of(pid, ev);
    join_.advance(ev.ts_ns);
    write(false);
  }

  void counters_of(uint32_t pid, const hk_event& ev) {
    switch (ev.type) {
      case HK_EV_OS_MMAP:
      case HK_EV_OS_MUNMAP: {
        if (static_cast<int64_t>(ev.a) < 0) return;
        uint64_t& m = procs_[pid].mapped;
        m = ev.type == HK_EV_OS_MMAP ? m + ev.len : m - std::min(m, ev.len);
        counter(pid, "mapped bytes", ev.ts_ns, fmt::format(R"({{"allocator":{}}})", m));
        return;
      }
      case HK_EV_LRU_PUSH:
      case HK_EV_LRU_POP_HIT:
      case HK_EV_LRU_POP_MISS:
      case HK_EV_LRU_EVICT:
        counter(pid, "LRU occupancy", ev.ts_ns, fmt::format(R"({{"SuperSlabs cached":{}}})", ev.a));
        return;
      case HK_EV_SNAPSHOT:
        if (ev.cls == HK_CLASS_NONE) return;
        counter(pid, fmt::format("accounting gap class {} ({})", ev.cls, format_bytes(ev.len)), ev.ts_ns,
                fmt::format(R"({{"used":{},"parked":{}}})", ev.a, ev.b));
        return;
      default: return;
    }
  }

  // --- the kernel's side
  void on_syscall(const hk_sys_record& rec) override {
    name_thread(rec.pid, rec.tid);
    std::deque<Held>& q = kernel_[rec.tid];
    q.push_back({rec, rec.kind != HK_SYS_CALL, 0});
    if (rec.kind == HK_SYS_CALL) join_.on_syscall(rec);
    flush_kernel(q, false);
    join_.advance(rec.exit_ns);
    write(false);
  }

  Held* held(const hk_sys_record& sys) {
    std::deque<Held>& q = kernel_[sys.tid];
    for (Held& h : q)
      if (!h.resolved && h.rec.seq == sys.seq && h.rec.enter_ns == sys.enter_ns) return &h;
    return nullptr;
  }

  void on_matched(const hk_sys_record& sys, const hk_event& ev) override {
    Held* h = held(sys);
    if (!h) return;
    h->resolved = true;
    // A flow only when the event is being written now: one written before
    // (the rare disorder) can no longer take its end.
    if (current_ && current_->ts_ns == ev.ts_ns && current_->tid == ev.tid && current_->type == ev.type &&
        current_->addr == ev.addr) {
      h->flow = flow_ = ++next_flow_;
      ++stats_.flows;
    }
    flush_kernel(kernel_[sys.tid], false);
  }
  void on_kernel_only(const hk_sys_record& sys) override {
    if (Held* h = held(sys)) h->resolved = true;
    flush_kernel(kernel_[sys.tid], false);
  }
  void on_allocator_only(uint32_t, const hk_event&) override {}

  // Writes the track's resolved syscalls in order, up to the first one the
  // join still holds (everything at the end).
  void flush_kernel(std::deque<Held>& q, bool all) {
    while (!q.empty() && (q.front().resolved || all)) {
      const Held& h = q.front();
      const hk_sys_record& r = h.rec;
      const uint32_t tid = r.tid | kKernelTrack;
      const uint64_t track = kernel_track(r.tid);
      if (r.kind != HK_SYS_CALL) {
        static constexpr const char* kKinds[] = {"call", "fork", "exec", "exit"};
        const std::string t = ts(track, r.exit_ns);
        sep();
        fmt::format_to(std::back_inserter(buf_),
                       R"({{"ph":"i","s":"t","cat":"kernel","name":"{}","pid":{},"tid":{},"ts":{},"args":{{"args":[{},{}]}}}})",
                       r.kind < 4 ? kKinds[r.kind] : "unknown", r.pid, tid, t, r.args[0], r.args[1]);
      } else {
        const std::string b = ts(track, r.enter_ns);
        sep();
        fmt::format_to(std::back_inserter(buf_),
                       R"({{"ph":"B","cat":"kernel","name":"{}","pid":{},"tid":{},"ts":{},"args":{{"addr":"{:#x}","len":{},"ret":{},"caller":"{:#x}","seq":{}}}}})",
                       syscall_name(r.nr), r.pid, tid, b, r.args[0], r.args[1], r.ret, r.caller, r.seq);
        if (h.flow) {
          sep();
          fmt::format_to(std::back_inserter(buf_),
                         R"({{"ph":"s","cat":"join","name":"syscall","id":{},"pid":{},"tid":{},"ts":{}}})", h.flow,
                         r.pid, tid, b);
        }
        const std::string e = ts(track, std::max(r.exit_ns, r.enter_ns));
        sep();
        fmt::format_to(std::back_inserter(buf_), R"({{"ph":"E","cat":"kernel","name":"{}","pid":{},"tid":{},"ts":{}}})",
                       syscall_name(r.nr), r.pid, tid, e);
      }
      ++stats_.syscalls;
      q.pop_front();
    }
  }

  std::FILE* out_;
  Timeline timeline_;
  Join join_;
  fmt::memory_buffer buf_;
  bool first_ = true;
  uint64_t t0_ = 0;
  bool t0_set_ = false;
  ExportStats stats_;
  const hk_event* current_ = nullptr;
  uint64_t flow_ = 0, next_flow_ = 0;
  std::unordered_map<uint32_t, std::deque<Held>> kernel_;
  std::unordered_map<uint64_t, uint64_t> last_ts_;
  std::unordered_map<std::string, uint64_t> counter_ids_;
  std::unordered_map<uint32_t, bool> named_, named_pids_;
  std::unordered_map<uint32_t, Proc> procs_;
};

}  // namespace

ExportStats export_perfetto(const std::string& path, std::FILE* out,
                            const std::function<void(uint64_t, uint64_t)>& progress) {
  return Exporter(out).run(path, progress);
}

}  // namespace hk::analyze
