#include "output/report_text.h"

#include "trace/event_names.h"
#include "output/text_table.h"
#include "output/units.h"

#include <fmt/format.h>

#include <algorithm>

namespace hk::analyze {

namespace {

struct Style {
  bool on;
  std::string wrap(std::string_view code, std::string_view s) const {
    return on ? fmt::format("\x1b[{}m{}\x1b[0m", code, s) : std::string(s);
  }
  std::string bold(std::string_view s) const { return wrap("1", s); }
  std::string severity(const std::string& sev) const {
    std::string label = sev;
    for (char& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return wrap(sev == "critical" ? "1;31" : sev == "warning" ? "1;33" : "1;36", label);
  }
};

// Classes whose gap curve is drawn in the text report.
constexpr size_t kCurves = 3;

std::string num(uint64_t v) { return fmt::format("{}", v); }

// One character for v on a 0..peak scale.
char level(uint64_t v, uint64_t peak) {
  static constexpr std::string_view kLevels = " .:-=+*#%@";
  if (peak == 0 || v == 0) return ' ';
  const size_t i = 1 + static_cast<size_t>((kLevels.size() - 2) * std::min(v, peak) / peak);
  return kLevels[std::min(i, kLevels.size() - 1)];
}
std::string pct(double share) { return fmt::format("{:.1f}%", share); }

void header(std::string& out, const Report& r, const Style& st) {
  const TraceSummary& t = r.trace;
  out += st.bold(fmt::format("hakmem report: {}", t.path)) + "\n";
  if (!t.command.empty()) out += fmt::format("  command   {}\n", t.command);
  out += fmt::format("  run       {} wall, {} process(es), {} thread(s), exit status {}\n", format_ns(t.wall_ns()),
                     t.processes, t.threads, t.exit_status);
  out += fmt::format("  sources   allocator events: {}   kernel records: {}\n",
                     t.has_allocator ? num(t.events) : "none (no preload)",
                     t.has_kernel ? num(t.syscall_records) : "none (no BPF)");
  if (!t.complete) out += fmt::format("  {}  trace is truncated ({}); numbers cover what was written\n",
                                      st.severity("warning"), t.truncation);
  const AllocatorConfig& c = r.allocator.config;
  if (c.seen)
    out += fmt::format("  config    drain interval {}, LRU capacity {}, TLS SLL capacity {}, SuperSlab {}, slab {}\n",
                       c.drain_interval, c.lru_capacity, c.sll_capacity, format_bytes(c.superslab_bytes),
                       format_bytes(c.slab_bytes));
  out += "\n";
}

void diagnoses(std::string& out, const Report& r, const Style& st) {
  if (r.diagnoses.empty()) {
    out += st.bold("Diagnoses: none") + " (no pathology above its threshold)\n\n";
    return;
  }
  out += st.bold(fmt::format("Diagnoses ({})", r.diagnoses.size())) + "\n";
  for (const Diagnosis& d : r.diagnoses) {
    out += fmt::format("  {} [{}] {}\n", st.severity(d.severity), d.id, d.summary);
    out += fmt::format("      why: {}\n", d.explanation);
    out += fmt::format("      fix: {}\n", d.fix);
    std::string ev;
    for (const Evidence& e : d.evidence) ev += fmt::format(" {}={}", e.key, e.value);
    out += fmt::format("      evidence:{}\n", ev);
  }
  out += "\n";
}

void syscalls(std::string& out, const Report& r, const Style& st) {
  if (!r.trace.has_kernel) {
    out += st.bold("Syscalls") + ": not measured (recorded without BPF)\n\n";
    return;
  }
  const uint64_t wall = r.trace.wall_ns();
  out += st.bold("Syscalls, measured in the kernel") + "\n";
  TextTable t({"syscall", "calls", "allocator", "outside", "errors", "total", "avg", "max", "% wall"});
  for (const auto& [nr, row] : r.syscalls.rows()) {
    t.add({syscall_name(nr), num(row.count), num(row.allocator), num(row.count - row.allocator), num(row.errors),
           format_ns(row.latency.total()), format_ns(row.latency.mean()), format_ns(row.latency.max()),
           pct(wall ? 100.0 * double(row.latency.total()) / double(wall) : 0.0)});
  }
  t.add({"total", num(r.syscalls.total_calls()), "", "", "", format_ns(r.syscalls.total_ns()), "", "",
         pct(r.syscall_share_pct())});
  out += t.render() + "\n";
}

void allocator(std::string& out, const Report& r, const Style& st) {
  if (!r.trace.has_allocator) {
    out += st.bold("Allocator") + ": no events (recorded without preload)\n\n";
    return;
  }
  const AllocatorMetrics& a = r.allocator;
  out += st.bold("Allocator") + "\n";
  TextTable t({"what", "count", "detail"}, "lrl");
  auto reasons = [](uint16_t type, const std::map<uint8_t, uint64_t>& m) {
    std::string s;
    for (const auto& [reason, n] : m) {
      std::string_view name = event_reason_name(type, reason);
      s += fmt::format("{}{} {}", s.empty() ? "" : ", ", n, name.empty() ? "other" : name);
    }
    return s;
  };
  t.add({"SuperSlab maps", num(a.count(HK_EV_SS_MAP)), reasons(HK_EV_SS_MAP, a.superslab_map_by_reason)});
  t.add({"SuperSlab unmaps", num(a.count(HK_EV_SS_UNMAP)), reasons(HK_EV_SS_UNMAP, a.superslab_unmap_by_reason)});
  if (a.superslab_lifetime.count())
    t.add({"SuperSlab lifetime", num(a.superslab_lifetime.count()),
           fmt::format("min {}, median {}, max {}", format_ns(a.superslab_lifetime.min()),
                       format_ns(a.superslab_lifetime.quantile(0.5)), format_ns(a.superslab_lifetime.max()))});
  if (a.superslab_remap.interval.count())
    t.add({"unmap -> remap same size", num(a.superslab_remap.interval.count()),
           fmt::format("median {}, {} within {}", format_ns(a.superslab_remap.interval.quantile(0.5)),
                       a.superslab_remap.within_window, format_ns(AllocatorMetrics::kRemapWindowNs))});
  const double hr = a.lru_hit_rate();
  t.add({"LRU pushes", num(a.count(HK_EV_LRU_PUSH)), ""});
  t.add({"LRU pops", num(a.count(HK_EV_LRU_POP_HIT) + a.count(HK_EV_LRU_POP_MISS)),
         fmt::format("{} hits, {} misses, hit rate {}", a.count(HK_EV_LRU_POP_HIT), a.count(HK_EV_LRU_POP_MISS),
                     hr < 0 ? "n/a" : pct(100.0 * hr))});
  t.add({"LRU evictions", num(a.count(HK_EV_LRU_EVICT)), ""});
  t.add({"slabs acquired", num(a.count(HK_EV_SLAB_ACQUIRE)),
         fmt::format("{} released, {} emptied", a.count(HK_EV_SLAB_RELEASE), a.count(HK_EV_SLAB_EMPTY))});
  t.add({"drains", num(a.count(HK_EV_DRAIN)),
         fmt::format("{} blocks returned, {} slabs emptied; {}", a.drained_blocks, a.drain_emptied_slabs,
                     reasons(HK_EV_DRAIN, a.drain_by_reason))});
  t.add({"remote-free batches", num(a.count(HK_EV_REMOTE_FREE_BATCH)), ""});
  t.add({"large maps", num(a.count(HK_EV_LARGE_MAP)),
         fmt::format("{} unmaps, {} reuses, {} re-mapped within {}", a.count(HK_EV_LARGE_UNMAP),
                     a.count(HK_EV_LARGE_REUSE), a.large_remap.within_window,
                     format_ns(AllocatorMetrics::kRemapWindowNs))});
  uint64_t os = 0, trims = 0;
  for (const auto& [reason, n] : a.os_calls_by_reason) os += n;
  for (const auto& [p, n] : a.align_trims_by_purpose) trims += n;
  t.add({"OS memory calls", num(os),
         fmt::format("{}; {} alignment trims, {} failed", reasons(HK_EV_OS_MMAP, a.os_calls_by_reason), trims,
                     a.os_failures)});
  t.add({"peak mapped", format_bytes(a.peak_mapped_bytes), "by the allocator, all processes"});
  out += t.render() + "\n";
}

void accounting(std::string& out, const Report& r, const Style& st) {
  if (r.accounting.classes().empty()) return;
  out += st.bold("Accounting per class (snapshots: used = counted by slabs, parked = in thread caches)") + "\n";
  TextTable t({"class", "block", "snapshots", "gap in", "used", "parked", "live", "worst parked", "of used"});
  for (const auto& [cls, c] : r.accounting.classes()) {
    t.add({num(cls), format_bytes(c.block_size), num(c.snapshots), num(c.gap_snapshots), num(c.last.used),
           num(c.last.parked), num(c.last.live), num(c.worst.parked),
           pct(c.worst.used ? 100.0 * double(c.worst.parked) / double(c.worst.used) : 0.0)});
  }
  out += t.render() + "  (used/parked/live at the last snapshot; \"gap in\" counts snapshots where parked blocks\n"
                      "   are at least half of used)\n";
  // The gap over time for the classes where it was largest: one character
  // per curve point, scaled to the class's own peak of used blocks.
  std::vector<std::pair<uint64_t, uint8_t>> worst;
  for (const auto& [cls, c] : r.accounting.classes())
    if (c.gap_snapshots) worst.emplace_back(c.worst.parked, cls);
  std::sort(worst.rbegin(), worst.rend());
  if (worst.size() > kCurves) worst.resize(kCurves);
  for (const auto& [parked, cls] : worst) {
    const ClassAccounting& c = r.accounting.classes().at(cls);
    std::string used, gap;
    for (const SnapshotPoint& p : c.curve) {
      used += level(p.used, c.max_used);
      gap += level(p.parked, c.max_used);
    }
    out += fmt::format("  class {:>3} used   |{}|  (peak {} blocks)\n", cls, used, c.max_used);
    out += fmt::format("            parked |{}|  over {}\n", gap,
                       format_ns(c.curve.empty() ? 0 : c.curve.back().ts_ns - c.curve.front().ts_ns));
  }
  out += "\n";
}

void join(std::string& out, const Report& r, const Style& st) {
  const JoinSummary& j = r.join;
  out += st.bold("Join (allocator OS events against kernel syscalls)") + "\n";
  if (!j.available) {
    out += "  not available: the trace needs both the allocator's events and the kernel's records\n\n";
    return;
  }
  TextTable t({"what", "count", "detail"}, "lrl");
  t.add({"allocator OS events", num(j.allocator_os_events),
         j.rate() < 0 ? "nothing to join" : fmt::format("join rate {}", pct(100.0 * j.rate()))});
  t.add({"matched", num(j.matched), "same tid, syscall, address and length"});
  t.add({"kernel only", num(j.kernel_only), "syscalls from outside the allocator (loader, libc, program)"});
  t.add({"allocator only", num(j.allocator_only), "allocator events the kernel did not see"});
  t.add({"lost to drops", num(j.lost_to_drops), "allocator events whose syscall record was dropped"});
  if (j.overflowed) t.add({"join window overflow", num(j.overflowed), "resolved early by the per-thread bound"});
  out += t.render();
  if (!r.outside_sites.empty()) {
    out += "  top call sites outside the allocator (" + r.symbolization + ")\n";
    TextTable s({"  site", "syscall", "calls", "total", "churn pairs"}, "llrrr");
    for (const SiteReport& sr : r.outside_sites)
      s.add({"  " + (sr.symbol.empty() ? fmt::format("{:#x} (pid {})", sr.site.caller, sr.site.pid) : sr.symbol),
             syscall_name(sr.site.nr), num(sr.site.calls), format_ns(sr.site.total_ns), num(sr.site.churn_pairs)});
    out += s.render();
  }
  const BrkStats& b = r.outside.brk();
  if (b.calls)
    out += fmt::format("  brk: {} calls, {} grows, {} shrinks ({} trimmed), {} shrink/grow cycles\n", b.calls,
                       b.grows, b.shrinks, format_bytes(b.bytes_trimmed), b.cycles);
  if (r.outside.churn_pairs())
    out += fmt::format("  foreign mmap/munmap pairs living under 1 s: {} ({}), median lifetime {}\n",
                       r.outside.churn_pairs(), format_bytes(r.outside.churn_bytes()),
                       format_ns(r.outside.churn_lifetime().quantile(0.5)));
  out += "\n";
}

void drops(std::string& out, const Report& r, const Style& st) {
  const DropStats& d = r.drops;
  out += st.bold("Drops") + ": ";
  if (d.total() == 0) {
    out += "none\n";
    return;
  }
  out += fmt::format("allocator ring {} dropped, {} overwritten, {} torn; kernel {} lost\n", d.ring_dropped,
                     d.ring_overwritten, d.ring_torn, d.kernel_missing());
}

}  // namespace

std::string render_text(const Report& r, bool colour) {
  const Style st{colour};
  std::string out;
  header(out, r, st);
  diagnoses(out, r, st);
  syscalls(out, r, st);
  allocator(out, r, st);
  accounting(out, r, st);
  join(out, r, st);
  drops(out, r, st);
  return out;
}

}  // namespace hk::analyze
