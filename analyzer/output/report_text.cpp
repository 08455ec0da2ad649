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

// The faults a syscall row's calls were followed by (see the table's note).
FaultCost faults_after(const Report& r, uint32_t nr) {
  FaultCost c;
  switch (nr) {
    case HK_NR_MMAP:
      for (FaultTarget t : {FaultTarget::superslab, FaultTarget::large, FaultTarget::allocator_other,
                            FaultTarget::foreign})
        c.add(r.faults.by_target(t));
      break;
    case HK_NR_MADVISE: c = r.faults.refaults(); break;
    case HK_NR_BRK: c = r.faults.by_target(FaultTarget::brk); break;
    default: break;
  }
  return c;
}

void header(std::string& out, const Report& r, const Style& st) {
  const TraceSummary& t = r.trace;
  out += st.bold(fmt::format("hakmem report: {}", t.path)) + "\n";
  if (!t.command.empty()) out += fmt::format("  command   {}\n", t.command);
  if (t.attached_pid)
    out += fmt::format("  attached  to pid {}, {} after it started; nothing before is in the trace\n",
                       t.attached_pid, format_ns(t.attached_after_ns));
  out += fmt::format("  run       {} wall, {} process(es), {} thread(s){}\n", format_ns(t.wall_ns()), t.processes,
                     t.threads, t.attached_pid ? "" : fmt::format(", exit status {}", t.exit_status));
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
  const bool faults = r.faults.seen();
  out += st.bold("Syscalls, measured in the kernel") + "\n";
  std::vector<std::string> cols = {"syscall", "calls", "allocator", "outside", "errors", "total", "avg", "max",
                                   "% wall"};
  if (faults) cols.insert(cols.end(), {"faults after", "fault time"});
  TextTable t(cols);
  for (const auto& [nr, row] : r.syscalls.rows()) {
    std::vector<std::string> cells = {syscall_name(nr), num(row.count), num(row.allocator),
                                      num(row.count - row.allocator), num(row.errors),
                                      format_ns(row.latency.total()), format_ns(row.latency.mean()),
                                      format_ns(row.latency.max()),
                                      pct(wall ? 100.0 * double(row.latency.total()) / double(wall) : 0.0)};
    if (faults) {
      const FaultCost c = faults_after(r, nr);
      const bool applies = nr == HK_NR_MMAP || nr == HK_NR_MADVISE || nr == HK_NR_BRK;
      cells.push_back(applies ? num(c.faults) : "");
      cells.push_back(applies ? format_ns(c.ns()) : "");
    }
    t.add(cells);
  }
  std::vector<std::string> total = {"total", num(r.syscalls.total_calls()), "", "", "",
                                    format_ns(r.syscalls.total_ns()), "", "", pct(r.syscall_share_pct())};
  if (faults) total.insert(total.end(), {"", ""});
  t.add(total);
  out += t.render();
  if (faults)
    out += "  (faults after: mmap = in the memory it mapped, madvise = in what it gave back, within 1 s;\n"
           "   brk = in the heap; fault time is in the kernel up to the page's accounting)\n";
  out += "\n";
}

void page_faults(std::string& out, const Report& r, const Style& st) {
  if (!r.trace.has_kernel) return;
  const FaultMetrics& f = r.faults;
  if (!f.seen()) {
    out += st.bold("Page faults") + ": not recorded (the probe ran without its fault programs)\n\n";
    return;
  }
  const FaultCost& all = f.total();
  out += st.bold(fmt::format("Page faults of the traced tree: {} ({} in the kernel, scaled from {} timed)",
                             all.faults, format_ns(all.ns()), all.timed)) + "\n";
  TextTable t({"hit", "faults", "share", "time"}, "lrrr");
  for (size_t i = 0; i < kFaultTargets; ++i) {
    const FaultCost& c = f.by_target(FaultTarget(i));
    if (!c.faults) continue;
    t.add({fault_target_name(FaultTarget(i)), num(c.faults),
           pct(all.faults ? 100.0 * double(c.faults) / double(all.faults) : 0.0), format_ns(c.ns())});
  }
  out += t.render();
  auto line = [&](const char* what, const FaultCost& c) {
    if (c.faults) out += fmt::format("  {}: {} faults, {}\n", what, c.faults, format_ns(c.ns()));
  };
  line("in memory given back with madvise within 1 s", f.refaults());
  line("in mappings outside the allocator that lived under 1 s", f.churn_faults());
  line("in allocator mappings that lived under 1 s", f.allocator_churn_faults());
  line("in brk heap memory trimmed and grown back", f.brk_regrow_faults());
  if (!r.advise_sites.empty()) {
    out += "  madvise call sites giving memory back\n";
    TextTable s({"  site", "calls", "given back", "time", "refaults", "refault time"}, "lrrrrr");
    for (const AdviseReport& a : r.advise_sites)
      s.add({"  " + (a.symbol.empty() ? fmt::format("{:#x} (pid {})", a.site.caller, a.site.pid) : a.symbol),
             num(a.site.calls), format_bytes(a.site.bytes), format_ns(a.site.ns), num(a.site.refaults.faults),
             format_ns(a.site.refaults.ns())});
    out += s.render();
  }
  const RssSeries& rss = f.rss();
  if (rss.samples) {
    constexpr uint64_t kPage = 4096;
    std::string curve;
    for (const RssPoint& p : rss.curve) curve += level(p.pages, rss.peak.pages);
    out += fmt::format("  RSS of pid {}: first {}, peak {} at +{}, last {} at +{} ({} samples)\n", rss.pid,
                       format_bytes(rss.first.pages * kPage), format_bytes(rss.peak.pages * kPage),
                       format_ns(rss.peak.ts_ns - std::min(rss.peak.ts_ns, r.trace.start_ns)),
                       format_bytes(rss.last.pages * kPage),
                       format_ns(rss.last.ts_ns - std::min(rss.last.ts_ns, r.trace.start_ns)), rss.samples);
    out += fmt::format("  RSS |{}|\n", curve);
  }
  out += "\n";
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
  if (!j.available) return;  // one source only: nothing to join
  out += st.bold("Join (allocator OS events against kernel syscalls)") + "\n";
  TextTable t({"what", "count", "detail"}, "lrl");
  t.add({"allocator OS events", num(j.allocator_os_events),
         j.rate() < 0 ? "nothing to join" : fmt::format("join rate {}", pct(100.0 * j.rate()))});
  t.add({"matched", num(j.matched), "same tid, syscall, address and length"});
  t.add({"kernel only", num(j.kernel_only), "syscalls from outside the allocator (loader, libc, program)"});
  t.add({"allocator only", num(j.allocator_only), "allocator events the kernel did not see"});
  t.add({"lost to drops", num(j.lost_to_drops), "allocator events whose syscall record was dropped"});
  if (j.overflowed) t.add({"join window overflow", num(j.overflowed), "resolved early by the per-thread bound"});
  out += t.render() + "\n";
}

// The syscalls from outside the allocator: with --no-preload, all of them.
void outside(std::string& out, const Report& r, const Style& st) {
  if (!r.trace.has_kernel) return;
  out += st.bold(r.trace.has_allocator ? "Syscalls from outside the allocator"
                                       : "Syscalls by call site (no preload: the program's, libc's or its allocator's)") +
         "\n";
  if (!r.outside_sites.empty()) {
    out += "  top call sites (" + r.symbolization + ")\n";
    const bool faults = r.faults.seen();
    std::vector<std::string> cols = {"  site", "syscall", "calls", "total", "churn pairs"};
    if (faults) cols.insert(cols.end(), {"faults", "fault time"});
    TextTable s(cols, faults ? "llrrrrr" : "llrrr");
    for (const SiteReport& sr : r.outside_sites) {
      std::vector<std::string> cells = {
          "  " + (sr.symbol.empty() ? fmt::format("{:#x} (pid {})", sr.site.caller, sr.site.pid) : sr.symbol),
          syscall_name(sr.site.nr), num(sr.site.calls), format_ns(sr.site.total_ns), num(sr.site.churn_pairs)};
      if (faults) {
        const bool maps = sr.site.nr == HK_NR_MMAP;
        cells.push_back(maps ? num(sr.faults.faults) : "");
        cells.push_back(maps ? format_ns(sr.faults.ns()) : "");
      }
      s.add(cells);
    }
    out += s.render();
  } else {
    out += "  none\n";
  }
  const BrkStats& b = r.outside.brk();
  if (b.calls)
    out += fmt::format("  brk: {} calls, {} grows, {} shrinks ({} trimmed, {} regrown), {} shrink/grow cycles, "
                       "largest heap {}\n",
                       b.calls, b.grows, b.shrinks, format_bytes(b.bytes_trimmed), format_bytes(b.bytes_regrown),
                       b.cycles, format_bytes(b.peak_heap));
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
  page_faults(out, r, st);
  allocator(out, r, st);
  accounting(out, r, st);
  join(out, r, st);
  outside(out, r, st);
  drops(out, r, st);
  return out;
}

}  // namespace hk::analyze
