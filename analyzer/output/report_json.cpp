#include "output/report_json.h"

#include "trace/event_names.h"
#include "output/json_writer.h"

namespace hk::analyze {

namespace {

void duration_object(JsonWriter& w, const DurationStats& s) {
  w.begin_object()
      .field("count", s.count())
      .field("total_ns", s.total())
      .field("min_ns", s.min())
      .field("p50_ns", s.quantile(0.5))
      .field("p99_ns", s.quantile(0.99))
      .field("max_ns", s.max())
      .end_object();
}

void point(JsonWriter& w, const SnapshotPoint& p) {
  w.begin_object()
      .field("ts_ns", p.ts_ns)
      .field("used", p.used)
      .field("parked", p.parked)
      .field("live", p.live)
      .end_object();
}

// A key for a type or reason this build has no name for (a newer writer).
std::string name_or_number(std::string_view name, const char* prefix, unsigned number) {
  return name.empty() ? prefix + std::to_string(number) : std::string(name);
}

std::string reason_key(uint16_t type, uint8_t reason) {
  return name_or_number(event_reason_name(type, reason), "reason_", reason);
}

// A rate is negative when it is undefined (nothing to divide by).
void rate_field(JsonWriter& w, std::string_view key, double rate) {
  w.key(key);
  if (rate < 0) w.null();
  else w.value(rate);
}

void by_reason(JsonWriter& w, uint16_t type, const std::map<uint8_t, uint64_t>& m) {
  w.begin_object();
  for (const auto& [reason, n] : m) w.field(reason_key(type, reason), n);
  w.end_object();
}

void trace(JsonWriter& w, const Report& r) {
  const TraceSummary& t = r.trace;
  w.key("trace").begin_object()
      .field("path", t.path)
      .field("command", t.command)
      .field("complete", t.complete)
      .field("truncation", t.truncation)
      .field("start_ns", t.start_ns)
      .field("end_ns", t.end_ns)
      .field("wall_ns", t.wall_ns())
      .field("allocator_events", t.events)
      .field("kernel_records", t.syscall_records)
      .field("has_allocator", t.has_allocator)
      .field("has_kernel", t.has_kernel)
      .field("processes", t.processes)
      .field("threads", t.threads)
      .field("exit_status", t.exit_status)
      .field("out_of_order", t.out_of_order)
      .end_object();
  const AllocatorConfig& c = r.allocator.config;
  w.key("config").begin_object().field("seen", c.seen);
  if (c.seen) {
    w.field("drain_interval", c.drain_interval)
        .field("lru_capacity", c.lru_capacity)
        .field("sll_capacity", c.sll_capacity)
        .field("superslab_bytes", c.superslab_bytes)
        .field("slab_bytes", c.slab_bytes);
  }
  w.end_object();
}

void diagnoses(JsonWriter& w, const Report& r) {
  w.key("diagnoses").begin_array();
  for (const Diagnosis& d : r.diagnoses) {
    w.begin_object()
        .field("id", d.id)
        .field("severity", d.severity)
        .field("summary", d.summary)
        .field("explanation", d.explanation)
        .field("fix", d.fix);
    w.key("evidence").begin_object();
    for (const Evidence& e : d.evidence) w.field(e.key, e.value);
    w.end_object().end_object();
  }
  w.end_array();
}

void syscalls(JsonWriter& w, const Report& r) {
  const uint64_t wall = r.trace.wall_ns();
  w.key("syscalls").begin_object();
  for (const auto& [nr, row] : r.syscalls.rows()) {
    w.key(syscall_name(nr)).begin_object()
        .field("count", row.count)
        .field("errors", row.errors)
        .field("allocator", row.allocator)
        .field("outside", row.count - row.allocator)
        .field("total_ns", row.latency.total())
        .field("avg_ns", row.latency.mean())
        .field("p50_ns", row.latency.quantile(0.5))
        .field("max_ns", row.latency.max())
        .field("share_pct", wall ? 100.0 * double(row.latency.total()) / double(wall) : 0.0)
        .end_object();
  }
  w.end_object();
  w.key("syscall_totals").begin_object()
      .field("count", r.syscalls.total_calls())
      .field("total_ns", r.syscalls.total_ns())
      .field("share_pct", r.syscall_share_pct())
      .end_object();
}

void allocator(JsonWriter& w, const Report& r) {
  const AllocatorMetrics& a = r.allocator;
  uint64_t trims = 0, os_calls = 0;
  for (const auto& [p, n] : a.align_trims_by_purpose) trims += n;
  for (const auto& [p, n] : a.os_calls_by_reason) os_calls += n;
  w.key("allocator").begin_object()
      .field("superslab_map", a.count(HK_EV_SS_MAP))
      .field("superslab_unmap", a.count(HK_EV_SS_UNMAP))
      .field("lru_push", a.count(HK_EV_LRU_PUSH))
      .field("lru_hit", a.count(HK_EV_LRU_POP_HIT))
      .field("lru_miss", a.count(HK_EV_LRU_POP_MISS))
      .field("lru_evict", a.count(HK_EV_LRU_EVICT));
  rate_field(w, "lru_hit_rate", a.lru_hit_rate());
  w.field("slab_acquire", a.count(HK_EV_SLAB_ACQUIRE))
      .field("slab_release", a.count(HK_EV_SLAB_RELEASE))
      .field("slab_empty", a.count(HK_EV_SLAB_EMPTY))
      .field("drain", a.count(HK_EV_DRAIN))
      .field("drained_blocks", a.drained_blocks)
      .field("remote_free_batch", a.count(HK_EV_REMOTE_FREE_BATCH))
      .field("large_map", a.count(HK_EV_LARGE_MAP))
      .field("large_unmap", a.count(HK_EV_LARGE_UNMAP))
      .field("large_reuse", a.count(HK_EV_LARGE_REUSE))
      .field("os_calls", os_calls)
      .field("os_failures", a.os_failures)
      .field("align_trims", trims)
      .field("peak_mapped_bytes", a.peak_mapped_bytes);
  w.key("superslab_map_by_reason");
  by_reason(w, HK_EV_SS_MAP, a.superslab_map_by_reason);
  w.key("superslab_unmap_by_reason");
  by_reason(w, HK_EV_SS_UNMAP, a.superslab_unmap_by_reason);
  w.key("drain_by_reason");
  by_reason(w, HK_EV_DRAIN, a.drain_by_reason);
  w.key("superslab_lifetime");
  duration_object(w, a.superslab_lifetime);
  w.key("superslab_remap");
  duration_object(w, a.superslab_remap.interval);
  w.field("superslab_remaps_within_window", a.superslab_remap.within_window);
  w.key("large_remap");
  duration_object(w, a.large_remap.interval);
  w.field("large_remaps_within_window", a.large_remap.within_window);
  w.field("remap_window_ns", AllocatorMetrics::kRemapWindowNs);
  w.key("events_by_type").begin_object();
  for (uint16_t t = 1; t < HK_EV_TYPE_COUNT; ++t) {
    if (a.by_type[t]) w.field(name_or_number(event_type_name(t), "type_", t), a.by_type[t]);
  }
  w.end_object();
  w.key("syscall_time_by_reason").begin_object();
  for (const auto& [reason, s] : r.allocator_syscall_time) {
    w.key(reason_key(HK_EV_OS_MMAP, reason));
    duration_object(w, s);
  }
  w.end_object();
  w.end_object();
}

void accounting(JsonWriter& w, const Report& r) {
  w.key("accounting").begin_array();
  for (const auto& [cls, c] : r.accounting.classes()) {
    w.begin_object()
        .field("class", uint64_t{cls})
        .field("block_size", c.block_size)
        .field("snapshots", c.snapshots)
        .field("gap_snapshots", c.gap_snapshots)
        .field("max_used", c.max_used);
    w.key("last");
    point(w, c.last);
    w.key("worst");
    point(w, c.worst);
    w.key("curve").begin_array();
    for (const SnapshotPoint& p : c.curve) point(w, p);
    w.end_array().end_object();
  }
  w.end_array();
}

void join(JsonWriter& w, const Report& r) {
  const JoinSummary& j = r.join;
  w.key("join").begin_object()
      .field("available", j.available)
      .field("allocator_os_events", j.allocator_os_events)
      .field("matched", j.matched)
      .field("kernel_only", j.kernel_only)
      .field("allocator_only", j.allocator_only)
      .field("lost_to_drops", j.lost_to_drops)
      .field("overflowed", j.overflowed);
  rate_field(w, "rate", j.rate());
  w.end_object();
}

void outside(JsonWriter& w, const Report& r) {
  const OutsideMetrics& o = r.outside;
  w.key("outside").begin_object()
      .field("calls", o.calls())
      .field("churn_pairs", o.churn_pairs())
      .field("churn_bytes", o.churn_bytes())
      .field("churn_lifetime_p50_ns", o.churn_lifetime().quantile(0.5))
      .field("symbolization", r.symbolization);
  const BrkStats& b = o.brk();
  w.key("brk").begin_object()
      .field("calls", b.calls)
      .field("grows", b.grows)
      .field("shrinks", b.shrinks)
      .field("cycles", b.cycles)
      .field("bytes_trimmed", b.bytes_trimmed)
      .field("bytes_regrown", b.bytes_regrown)
      .field("peak_heap", b.peak_heap)
      .end_object();
  w.key("sites").begin_array();
  for (const SiteReport& s : r.outside_sites) {
    w.begin_object()
        .field("pid", uint64_t{s.site.pid})
        .field("address", s.site.caller)
        .field("symbol", s.symbol)
        .field("syscall", syscall_name(s.site.nr))
        .field("calls", s.site.calls)
        .field("total_ns", s.site.total_ns)
        .field("churn_pairs", s.site.churn_pairs)
        .field("faults", s.faults.faults)
        .field("fault_ns", s.faults.timed_ns)
        .end_object();
  }
  w.end_array().end_object();
}

void fault_cost(JsonWriter& w, const char* key, const FaultCost& c) {
  w.key(key).begin_object().field("faults", c.faults).field("timed", c.timed).field("timed_ns", c.timed_ns).end_object();
}

void faults(JsonWriter& w, const Report& r) {
  const FaultMetrics& f = r.faults;
  w.key("faults").begin_object().field("recorded", f.seen());
  fault_cost(w, "total", f.total());
  w.key("by_target").begin_object();
  static constexpr const char* kKeys[kFaultTargets] = {"superslab", "large", "allocator_other",
                                                      "foreign", "brk", "other"};
  for (size_t i = 0; i < kFaultTargets; ++i) fault_cost(w, kKeys[i], f.by_target(FaultTarget(i)));
  w.end_object();
  fault_cost(w, "madvise_refaults", f.refaults());
  fault_cost(w, "foreign_churn", f.churn_faults());
  fault_cost(w, "allocator_churn", f.allocator_churn_faults());
  fault_cost(w, "brk_regrow", f.brk_regrow_faults());
  w.key("madvise").begin_object()
      .field("calls", f.madvise_calls())
      .field("bytes", f.madvise_bytes())
      .field("total_ns", f.madvise_ns());
  w.key("sites").begin_array();
  for (const AdviseReport& a : r.advise_sites) {
    w.begin_object()
        .field("pid", uint64_t{a.site.pid})
        .field("address", a.site.caller)
        .field("symbol", a.symbol)
        .field("calls", a.site.calls)
        .field("bytes", a.site.bytes)
        .field("total_ns", a.site.ns)
        .field("refaults", a.site.refaults.faults)
        .field("refault_ns", a.site.refaults.timed_ns)
        .end_object();
  }
  w.end_array().end_object();
  constexpr uint64_t kPage = 4096;
  const RssSeries& rss = f.rss();
  w.key("rss").begin_object()
      .field("pid", uint64_t{rss.pid})
      .field("samples", rss.samples)
      .field("first_bytes", rss.first.pages * kPage)
      .field("peak_bytes", rss.peak.pages * kPage)
      .field("peak_ns", rss.peak.ts_ns)
      .field("last_bytes", rss.last.pages * kPage)
      .field("last_ns", rss.last.ts_ns);
  w.key("curve").begin_array();
  for (const RssPoint& p : rss.curve) w.begin_object().field("ns", p.ts_ns).field("bytes", p.pages * kPage).end_object();
  w.end_array().end_object().end_object();
}

void drops(JsonWriter& w, const Report& r) {
  const DropStats& d = r.drops;
  w.key("drops").begin_object()
      .field("ring_dropped", d.ring_dropped)
      .field("ring_overwritten", d.ring_overwritten)
      .field("ring_torn", d.ring_torn)
      .field("kernel_lost", d.kernel_lost)
      .field("kernel_seq_gaps", d.kernel_seq_gaps)
      .field("total", d.total())
      .end_object();
}

}  // namespace

std::string render_json(const Report& r) {
  JsonWriter w;
  w.begin_object().field("format_version", kReportFormatVersion).field("tool", "hakmem-analyze report");
  trace(w, r);
  diagnoses(w, r);
  syscalls(w, r);
  allocator(w, r);
  accounting(w, r);
  join(w, r);
  outside(w, r);
  faults(w, r);
  drops(w, r);
  w.end_object();
  return w.str() + "\n";
}

}  // namespace hk::analyze
