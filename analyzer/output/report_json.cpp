#include "output/report_json.h"

#include "output/json_dump.h"
#include "trace/event_names.h"

namespace hk::analyze {

namespace {

using Json = nlohmann::ordered_json;

Json duration_object(const DurationStats& s) {
  return {{"count", s.count()},         {"total_ns", s.total()},
          {"min_ns", s.min()},          {"p50_ns", s.quantile(0.5)},
          {"p99_ns", s.quantile(0.99)}, {"max_ns", s.max()}};
}

Json point(const SnapshotPoint& p) {
  return {{"ts_ns", p.ts_ns}, {"used", p.used}, {"parked", p.parked}, {"live", p.live},
          {"cache_capacity", p.capacity}};
}

// A key for a type or reason this build has no name for (a newer writer).
std::string name_or_number(std::string_view name, const char* prefix, unsigned number) {
  return name.empty() ? prefix + std::to_string(number) : std::string(name);
}

std::string reason_key(uint16_t type, uint8_t reason) {
  return name_or_number(event_reason_name(type, reason), "reason_", reason);
}

// A rate is negative when it is undefined (nothing to divide by).
Json rate(double r) { return r < 0 ? Json(nullptr) : Json(r); }

Json by_reason(uint16_t type, const std::map<uint8_t, uint64_t>& m) {
  Json o = Json::object();
  for (const auto& [reason, n] : m) o[reason_key(type, reason)] = n;
  return o;
}

void trace(Json& j, const Report& r) {
  const TraceSummary& t = r.trace;
  j["trace"] = {{"path", t.path},
                {"command", t.command},
                {"complete", t.complete},
                {"truncation", t.truncation},
                {"start_ns", t.start_ns},
                {"end_ns", t.end_ns},
                {"wall_ns", t.wall_ns()},
                {"allocator_events", t.events},
                {"kernel_records", t.syscall_records},
                {"has_allocator", t.has_allocator},
                {"has_kernel", t.has_kernel},
                {"processes", t.processes},
                {"threads", t.threads},
                {"exit_status", t.exit_status},
                {"attached_pid", t.attached_pid},
                {"attached_after_ns", t.attached_after_ns},
                {"out_of_order", t.out_of_order}};
  const AllocatorConfig& c = r.allocator.config;
  Json& config = j["config"] = {{"seen", c.seen}};
  if (c.seen) {
    config["drain_interval"] = c.drain_interval;
    config["lru_capacity"] = c.lru_capacity;
    config["sll_capacity"] = c.sll_capacity;
    config["superslab_bytes"] = c.superslab_bytes;
    config["slab_bytes"] = c.slab_bytes;
  }
}

void diagnoses(Json& j, const Report& r) {
  Json& list = j["diagnoses"] = Json::array();
  for (const Diagnosis& d : r.diagnoses) {
    Json evidence = Json::object();
    for (const Evidence& e : d.evidence) evidence[e.key] = json_number(e.value);
    list.push_back({{"id", d.id},
                    {"severity", d.severity},
                    {"summary", d.summary},
                    {"explanation", d.explanation},
                    {"fix", d.fix},
                    {"evidence", std::move(evidence)}});
  }
}

void syscalls(Json& j, const Report& r) {
  const uint64_t wall = r.trace.wall_ns();
  Json& rows = j["syscalls"] = Json::object();
  for (const auto& [nr, row] : r.syscalls.rows()) {
    rows[syscall_name(nr)] = {{"count", row.count},
                              {"errors", row.errors},
                              {"allocator", row.allocator},
                              {"outside", row.count - row.allocator},
                              {"total_ns", row.latency.total()},
                              {"avg_ns", row.latency.mean()},
                              {"p50_ns", row.latency.quantile(0.5)},
                              {"max_ns", row.latency.max()},
                              {"share_pct", wall ? 100.0 * double(row.latency.total()) / double(wall) : 0.0}};
  }
  j["syscall_totals"] = {{"count", r.syscalls.total_calls()},
                         {"total_ns", r.syscalls.total_ns()},
                         {"share_pct", r.syscall_share_pct()}};
}

void allocator(Json& j, const Report& r) {
  const AllocatorMetrics& a = r.allocator;
  uint64_t trims = 0, os_calls = 0;
  for (const auto& [p, n] : a.align_trims_by_purpose) trims += n;
  for (const auto& [p, n] : a.os_calls_by_reason) os_calls += n;
  Json& o = j["allocator"] = {{"superslab_map", a.count(HK_EV_SS_MAP)},
                              {"superslab_unmap", a.count(HK_EV_SS_UNMAP)},
                              {"lru_push", a.count(HK_EV_LRU_PUSH)},
                              {"lru_hit", a.count(HK_EV_LRU_POP_HIT)},
                              {"lru_miss", a.count(HK_EV_LRU_POP_MISS)},
                              {"lru_evict", a.count(HK_EV_LRU_EVICT)},
                              {"lru_hit_rate", rate(a.lru_hit_rate())},
                              {"slab_acquire", a.count(HK_EV_SLAB_ACQUIRE)},
                              {"slab_release", a.count(HK_EV_SLAB_RELEASE)},
                              {"slab_empty", a.count(HK_EV_SLAB_EMPTY)},
                              {"drain", a.count(HK_EV_DRAIN)},
                              {"drained_blocks", a.drained_blocks},
                              {"remote_free_batch", a.count(HK_EV_REMOTE_FREE_BATCH)},
                              {"large_map", a.count(HK_EV_LARGE_MAP)},
                              {"large_unmap", a.count(HK_EV_LARGE_UNMAP)},
                              {"large_reuse", a.count(HK_EV_LARGE_REUSE)},
                              {"os_calls", os_calls},
                              {"os_failures", a.os_failures},
                              {"align_trims", trims},
                              {"peak_mapped_bytes", a.peak_mapped_bytes}};
  o["superslab_map_by_reason"] = by_reason(HK_EV_SS_MAP, a.superslab_map_by_reason);
  o["superslab_unmap_by_reason"] = by_reason(HK_EV_SS_UNMAP, a.superslab_unmap_by_reason);
  o["drain_by_reason"] = by_reason(HK_EV_DRAIN, a.drain_by_reason);
  o["superslab_lifetime"] = duration_object(a.superslab_lifetime);
  o["superslab_remap"] = duration_object(a.superslab_remap.interval);
  o["superslab_remaps_within_window"] = a.superslab_remap.within_window;
  o["large_remap"] = duration_object(a.large_remap.interval);
  o["large_remaps_within_window"] = a.large_remap.within_window;
  o["remap_window_ns"] = AllocatorMetrics::kRemapWindowNs;
  Json& types = o["events_by_type"] = Json::object();
  for (uint16_t t = 1; t < HK_EV_TYPE_COUNT; ++t)
    if (a.by_type[t]) types[name_or_number(event_type_name(t), "type_", t)] = a.by_type[t];
  Json& time = o["syscall_time_by_reason"] = Json::object();
  for (const auto& [reason, s] : r.allocator_syscall_time) time[reason_key(HK_EV_OS_MMAP, reason)] = duration_object(s);
}

void accounting(Json& j, const Report& r) {
  Json& list = j["accounting"] = Json::array();
  for (const auto& [cls, c] : r.accounting.classes()) {
    Json curve = Json::array();
    for (const SnapshotPoint& p : c.curve) curve.push_back(point(p));
    list.push_back({{"class", uint64_t{cls}},
                    {"block_size", c.block_size},
                    {"snapshots", c.snapshots},
                    {"gap_snapshots", c.gap_snapshots},
                    {"max_used", c.max_used},
                    {"last", point(c.last)},
                    {"worst", point(c.worst)},
                    {"curve", std::move(curve)}});
  }
}

void join(Json& j, const Report& r) {
  const JoinSummary& s = r.join;
  j["join"] = {{"available", s.available},
               {"allocator_os_events", s.allocator_os_events},
               {"matched", s.matched},
               {"kernel_only", s.kernel_only},
               {"allocator_only", s.allocator_only},
               {"lost_to_drops", s.lost_to_drops},
               {"overflowed", s.overflowed},
               {"rate", rate(s.rate())}};
}

void outside(Json& j, const Report& r) {
  const OutsideMetrics& o = r.outside;
  const BrkStats& b = o.brk();
  Json sites = Json::array();
  for (const SiteReport& s : r.outside_sites)
    sites.push_back({{"pid", uint64_t{s.site.pid}},
                     {"address", s.site.caller},
                     {"symbol", s.symbol},
                     {"syscall", syscall_name(s.site.nr)},
                     {"calls", s.site.calls},
                     {"total_ns", s.site.total_ns},
                     {"churn_pairs", s.site.churn_pairs},
                     {"faults", s.faults.faults},
                     {"fault_ns", s.faults.ns()}});
  j["outside"] = {{"calls", o.calls()},
                  {"churn_pairs", o.churn_pairs()},
                  {"churn_bytes", o.churn_bytes()},
                  {"churn_lifetime_p50_ns", o.churn_lifetime().quantile(0.5)},
                  {"symbolization", r.symbolization},
                  {"brk",
                   {{"calls", b.calls},
                    {"grows", b.grows},
                    {"shrinks", b.shrinks},
                    {"cycles", b.cycles},
                    {"bytes_trimmed", b.bytes_trimmed},
                    {"bytes_regrown", b.bytes_regrown},
                    {"peak_heap", b.peak_heap}}},
                  {"sites", std::move(sites)}};
}

Json fault_cost(const FaultCost& c) {
  return {{"faults", c.faults}, {"timed", c.timed}, {"timed_ns", c.timed_ns}, {"ns", c.ns()}};
}

void faults(Json& j, const Report& r) {
  const FaultMetrics& f = r.faults;
  static constexpr const char* kKeys[kFaultTargets] = {"superslab", "large", "allocator_other",
                                                      "foreign", "brk", "other"};
  Json by_target = Json::object();
  for (size_t i = 0; i < kFaultTargets; ++i) by_target[kKeys[i]] = fault_cost(f.by_target(FaultTarget(i)));
  Json sites = Json::array();
  for (const AdviseReport& a : r.advise_sites)
    sites.push_back({{"pid", uint64_t{a.site.pid}},
                     {"address", a.site.caller},
                     {"symbol", a.symbol},
                     {"calls", a.site.calls},
                     {"bytes", a.site.bytes},
                     {"total_ns", a.site.ns},
                     {"refaults", a.site.refaults.faults},
                     {"refault_ns", a.site.refaults.ns()}});
  constexpr uint64_t kPage = 4096;
  const RssSeries& rss = f.rss();
  Json curve = Json::array();
  for (const RssPoint& p : rss.curve) curve.push_back({{"ns", p.ts_ns}, {"bytes", p.pages * kPage}});
  j["faults"] = {{"recorded", f.seen()},
                 {"total", fault_cost(f.total())},
                 {"by_target", std::move(by_target)},
                 {"madvise_refaults", fault_cost(f.refaults())},
                 {"foreign_churn", fault_cost(f.churn_faults())},
                 {"allocator_churn", fault_cost(f.allocator_churn_faults())},
                 {"brk_regrow", fault_cost(f.brk_regrow_faults())},
                 {"madvise",
                  {{"calls", f.madvise_calls()},
                   {"bytes", f.madvise_bytes()},
                   {"total_ns", f.madvise_ns()},
                   {"sites", std::move(sites)}}},
                 {"rss",
                  {{"pid", uint64_t{rss.pid}},
                   {"samples", rss.samples},
                   {"first_bytes", rss.first.pages * kPage},
                   {"peak_bytes", rss.peak.pages * kPage},
                   {"peak_ns", rss.peak.ts_ns},
                   {"last_bytes", rss.last.pages * kPage},
                   {"last_ns", rss.last.ts_ns},
                   {"curve", std::move(curve)}}}};
}

void drops(Json& j, const Report& r) {
  const DropStats& d = r.drops;
  j["drops"] = {{"ring_dropped", d.ring_dropped},       {"ring_overwritten", d.ring_overwritten},
                {"ring_torn", d.ring_torn},             {"kernel_lost", d.kernel_lost},
                {"kernel_seq_gaps", d.kernel_seq_gaps}, {"total", d.total()}};
}

}  // namespace

std::string render_json(const Report& r) {
  Json j = {{"format_version", kReportFormatVersion}, {"tool", "hakmem-analyze report"}};
  trace(j, r);
  diagnoses(j, r);
  syscalls(j, r);
  allocator(j, r);
  accounting(j, r);
  join(j, r);
  outside(j, r);
  faults(j, r);
  drops(j, r);
  return dump_json(j);
}

}  // namespace hk::analyze
