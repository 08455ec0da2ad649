#include "analysis/diagnoses.h"

#include "output/units.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>

namespace hk::analyze {

namespace {

// --- Thresholds. Each is the smallest amount of evidence that is not noise
// --- on a healthy run; the comment says why.

// The first SuperSlab always misses an empty LRU; every miss after it is a
// reuse the LRU could have served. Misses alone prove nothing (a program
// that only grows misses too), so the rule also demands that memory was
// freed yet pinned: a persistent accounting gap and no SuperSlab ever freed.
constexpr uint64_t kLruMinMisses = 2;
// Remaps of the same size within AllocatorMetrics::kRemapWindowNs: one or
// two happen when a working set breathes at the LRU's edge; churn is a
// dozen and more, and a large share of all maps.
constexpr uint64_t kChurnMinRemaps = 16;
constexpr double kChurnMinRemapShare = 0.25;
// Accounting gap: the class must show the gap (ClassAccounting::shows_gap)
// in several snapshots, and in most of them, not just in one taken between
// two drains, and larger than the drain interval allows (designed_gap). A
// short run may log only a couple of snapshots; there the gap also counts as
// persistent when nothing could ever close it: the drain is configured off
// and no drain ran.
constexpr uint64_t kGapMinSnapshots = 3;
constexpr double kGapMinSnapshotShare = 0.5;
// Stuck slabs: enough slabs to matter, and fewer than one in ten ever
// emptied while the accounting shows freed blocks pinning them.
constexpr uint64_t kStuckMinSlabs = 8;
constexpr double kStuckMaxEmptiedShare = 0.1;
// Large blocks re-mapped at the same size soon after being unmapped.
constexpr uint64_t kLargeChurnMinRemaps = 32;
constexpr double kLargeChurnMinRemapShare = 0.25;
// Alignment trims: extra munmaps only. A healthy process trims once or twice
// (its first SuperSlab, before the placement hint works); a dozen and more
// that make up a fifth of the allocator's syscalls are a placement problem.
constexpr uint64_t kTrimMin = 16;
constexpr double kTrimMinShare = 0.2;
// Foreign churn: the loader and libc map and unmap a few dozen regions at
// start-up; a loop that does so is hundreds.
constexpr uint64_t kForeignChurnMinPairs = 64;
// brk: glibc trims the top of its heap after large frees; a few trims are
// fine, a trim/grow cycle per iteration is churn.
constexpr uint64_t kBrkMinCycles = 32;
// Lost records above this share make every other number an undercount worth
// a critical flag; any loss at all is worth a warning.
constexpr double kDropCriticalShare = 0.01;
// Syscall time above this share of the run makes churn critical rather
// than a warning.
constexpr double kCriticalSyscallSharePct = 10.0;

const char* ss_unmap_reason(uint8_t r) {
  switch (r) {
    case HK_SS_LRU_OFF: return "LRU off";
    case HK_SS_EVICT: return "evicted";
    case HK_SS_TRIM: return "trimmed";
    case HK_SS_LRU_FULL: return "LRU full";
    default: return "other";
  }
}

bool fired(const std::vector<Diagnosis>& so_far, const char* id) {
  return std::any_of(so_far.begin(), so_far.end(), [id](const Diagnosis& d) { return d.id == id; });
}

double ratio(uint64_t a, uint64_t b) { return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0; }

// Churn: enough remaps at the same size soon after an unmap, and a large
// enough share of all maps.
bool remap_churn(const RemapStats& rs, uint64_t maps, uint64_t min_remaps, double min_share) {
  return rs.within_window >= min_remaps && ratio(rs.within_window, maps) >= min_share;
}

// Kernel time of the allocator's syscalls made for one reason (empty when
// the trace has no kernel view or no such call).
const DurationStats& allocator_syscall_time(const Report& r, uint8_t reason) {
  static const DurationStats kNone;
  auto it = r.allocator_syscall_time.find(reason);
  return it == r.allocator_syscall_time.end() ? kNone : it->second;
}

std::string pct(double share) { return fmt::format("{:.1f}%", share * 100.0); }

// The class whose accounting gap is the most persistent (then the largest).
struct GapClass {
  uint8_t cls = 0;
  const ClassAccounting* acc = nullptr;
};

bool never_drained(const Report& r) {
  const AllocatorConfig& cfg = r.allocator.config;
  return cfg.seen && cfg.drain_interval == 0 && r.allocator.count(HK_EV_DRAIN) == 0;
}

// With the drain on, each thread may hold up to one drain interval of freed
// blocks between two drains: that gap is the design, not a fault.
uint64_t designed_gap(const Report& r) {
  const AllocatorConfig& cfg = r.allocator.config;
  if (!cfg.seen || cfg.drain_interval == 0) return 0;
  return cfg.drain_interval * std::max<uint64_t>(1, r.trace.threads);
}

bool persistent_gap(const Report& r, const ClassAccounting& c) {
  if (c.gap_snapshots > 0 && never_drained(r)) return true;
  return c.gap_snapshots >= kGapMinSnapshots && ratio(c.gap_snapshots, c.snapshots) >= kGapMinSnapshotShare &&
         c.worst.parked > designed_gap(r);
}

// The class with a persistent gap and the most parked blocks.
GapClass worst_gap(const Report& r) {
  GapClass best;
  for (const auto& [cls, c] : r.accounting.classes()) {
    if (!persistent_gap(r, c)) continue;
    if (!best.acc || c.worst.parked > best.acc->worst.parked) best = {cls, &c};
  }
  return best;
}

// Blocks parked and counted used at the last snapshot, over the classes
// with a persistent gap.
uint64_t gap_blocks(const Report& r) {
  uint64_t n = 0;
  for (const auto& [cls, c] : r.accounting.classes())
    if (persistent_gap(r, c)) n += c.last.parked;
  return n;
}

uint64_t gap_classes(const Report& r) {
  uint64_t n = 0;
  for (const auto& [cls, c] : r.accounting.classes()) n += persistent_gap(r, c);
  return n;
}

std::string drain_fix(const AllocatorConfig& cfg) {
  if (cfg.seen && cfg.drain_interval == 0)
    return "enable the periodic TLS SLL drain: HAKMEM_TLS_SLL_DRAIN_INTERVAL=1024 (the default; 0 "
           "turns it off). Each drain returns parked blocks to their slabs and decrements used, so "
           "slabs can reach empty and SuperSlabs can enter the LRU cache";
  if (cfg.seen)
    return fmt::format(
        "drain thread caches more often: lower HAKMEM_TLS_SLL_DRAIN_INTERVAL (now {}) so parked "
        "blocks return to their slabs and used can reach 0",
        cfg.drain_interval);
  return "drain thread caches back to their slabs periodically (HAKMEM_TLS_SLL_DRAIN_INTERVAL=1024) "
         "so used can reach 0";
}

std::string gap_clause(const GapClass& g) {
  if (!g.acc) return "";
  const SnapshotPoint& w = g.acc->worst;
  return fmt::format("{} blocks parked in thread caches in class {} ({} B) stay counted used, {} of the {} "
                     "its slabs count",
                     w.parked, g.cls, g.acc->block_size, pct(ratio(w.parked, w.used)), w.used);
}

std::optional<Diagnosis> lru_unreachable(const Report& r, const std::vector<Diagnosis>&) {
  const AllocatorMetrics& a = r.allocator;
  const uint64_t misses = a.count(HK_EV_LRU_POP_MISS), pushes = a.count(HK_EV_LRU_PUSH);
  const bool lru_enabled = !a.config.seen || a.config.lru_capacity > 0;
  const GapClass g = worst_gap(r);
  if (misses < kLruMinMisses || pushes != 0 || a.count(HK_EV_SS_UNMAP) != 0 || !lru_enabled || !g.acc) return std::nullopt;
  Diagnosis d;
  d.severity = "critical";
  d.summary = fmt::format(
      "LRU unreachable: {} LRU lookups, {} pushes, {} SuperSlabs freed, {} slabs emptied; {} "
      "SuperSlabs mapped instead",
      misses, pushes, a.count(HK_EV_SS_UNMAP), a.count(HK_EV_SLAB_EMPTY), a.count(HK_EV_SS_MAP));
  d.explanation = fmt::format(
      "Every LRU lookup missed because no SuperSlab ever became empty. Cause: {} ({} blocks in {} "
      "classes at the last snapshot), so no slab reaches used == 0, no slab returns to the shared "
      "pool, no SuperSlab is released into the LRU, and every need for memory becomes a fresh mmap. "
      "{} drains ran.",
      gap_clause(g), gap_blocks(r), gap_classes(r), a.count(HK_EV_DRAIN));
  d.fix = drain_fix(a.config);
  d.evidence = {{"lru_miss", double(misses)},
                {"lru_push", double(pushes)},
                {"lru_hit", double(a.count(HK_EV_LRU_POP_HIT))},
                {"superslab_map", double(a.count(HK_EV_SS_MAP))},
                {"superslab_unmap", double(a.count(HK_EV_SS_UNMAP))},
                {"slab_empty", double(a.count(HK_EV_SLAB_EMPTY))},
                {"drain", double(a.count(HK_EV_DRAIN))},
                {"drain_interval", double(a.config.drain_interval)},
                {"gap_class", double(g.cls)},
                {"gap_parked_blocks", double(g.acc->worst.parked)},
                {"gap_used_blocks", double(g.acc->worst.used)},
                {"gap_blocks_total", double(gap_blocks(r))}};
  return d;
}

std::optional<Diagnosis> accounting_gap(const Report& r, const std::vector<Diagnosis>& so_far) {
  const GapClass g = worst_gap(r);
  if (!g.acc) return std::nullopt;
  const ClassAccounting& c = *g.acc;
  Diagnosis d;
  d.severity = fired(so_far, "lru_unreachable") ? "critical" : "warning";
  d.summary = fmt::format(
      "accounting gap: up to {} blocks in class {} ({} B) counted used while parked in thread caches "
      "({} of used); {} of {} snapshots show it, {} class(es) affected{}",
      c.worst.parked, g.cls, c.block_size, pct(ratio(c.worst.parked, c.worst.used)), c.gap_snapshots,
      c.snapshots, gap_classes(r), never_drained(r) ? "; no drain ever ran (drain interval 0)" : "");
  d.explanation = fmt::format(
      "Blocks freed to a thread's TLS SLL are free for reuse, but their slab's used count does not go "
      "down until a drain returns them. At the last snapshot class {} had {} blocks counted used, "
      "{} of them parked, {} live. While the gap lasts those slabs cannot reach empty.",
      g.cls, c.last.used, c.last.parked, c.last.live);
  d.fix = drain_fix(r.allocator.config);
  d.evidence = {{"class", double(g.cls)},
                {"block_size", double(c.block_size)},
                {"parked_blocks", double(c.worst.parked)},
                {"used_blocks", double(c.worst.used)},
                {"live_blocks", double(c.worst.live)},
                {"gap_snapshots", double(c.gap_snapshots)},
                {"snapshots", double(c.snapshots)},
                {"classes_affected", double(gap_classes(r))},
                {"parked_blocks_total", double(gap_blocks(r))}};
  return d;
}

std::optional<Diagnosis> stuck_slabs(const Report& r, const std::vector<Diagnosis>&) {
  const AllocatorMetrics& a = r.allocator;
  const uint64_t acquired = a.count(HK_EV_SLAB_ACQUIRE), emptied = a.count(HK_EV_SLAB_EMPTY);
  const GapClass g = worst_gap(r);
  if (acquired < kStuckMinSlabs || ratio(emptied, acquired) >= kStuckMaxEmptiedShare || !g.acc) return std::nullopt;
  Diagnosis d;
  d.severity = "warning";
  d.summary = fmt::format("stuck slabs: {} slabs acquired, {} ever reached empty ({}), {} released",
                          acquired, emptied, pct(ratio(emptied, acquired)),
                          a.count(HK_EV_SLAB_RELEASE));
  d.explanation = fmt::format(
      "The program freed memory, but the slabs holding it stay non-empty: {}. A slab that never "
      "empties is never returned to the shared pool, so its SuperSlab stays mapped.",
      gap_clause(g));
  d.fix = drain_fix(a.config);
  d.evidence = {{"slab_acquire", double(acquired)},
                {"slab_empty", double(emptied)},
                {"slab_release", double(a.count(HK_EV_SLAB_RELEASE))},
                {"gap_class", double(g.cls)},
                {"gap_parked_blocks", double(g.acc->worst.parked)}};
  return d;
}

std::optional<Diagnosis> superslab_churn(const Report& r, const std::vector<Diagnosis>&) {
  const AllocatorMetrics& a = r.allocator;
  const uint64_t maps = a.count(HK_EV_SS_MAP), unmaps = a.count(HK_EV_SS_UNMAP);
  const RemapStats& rs = a.superslab_remap;
  if (!remap_churn(rs, maps, kChurnMinRemaps, kChurnMinRemapShare)) return std::nullopt;
  uint8_t top_reason = 0;
  uint64_t top_count = 0;
  for (const auto& [reason, n] : a.superslab_unmap_by_reason)
    if (n > top_count) top_reason = reason, top_count = n;
  uint64_t ss_ns = 0, ss_calls = 0;
  for (uint8_t reason : {HK_OS_SUPERSLAB, HK_OS_ALIGN_TRIM}) {
    const DurationStats& t = allocator_syscall_time(r, reason);
    ss_ns += t.total(), ss_calls += t.count();
  }
  const double share_pct = r.trace.wall_ns() ? 100.0 * double(ss_ns) / double(r.trace.wall_ns()) : 0.0;
  Diagnosis d;
  d.severity = share_pct >= kCriticalSyscallSharePct ? "critical" : "warning";
  d.summary = fmt::format(
      "SuperSlab churn: {} SuperSlabs unmapped ({} {}), {} mapped again within {} (median {} later)",
      unmaps, top_count, ss_unmap_reason(top_reason), rs.within_window,
      format_ns(AllocatorMetrics::kRemapWindowNs), format_ns(rs.interval.quantile(0.5)));
  d.explanation = fmt::format(
      "Empty SuperSlabs are given back to the kernel and a SuperSlab of the same size is mapped again "
      "moments later: {} maps and {} unmaps in all. {}",
      maps, unmaps,
      r.join.available
          ? fmt::format("The kernel confirms {} SuperSlab syscalls taking {} ({:.1f}% of the run).",
                        ss_calls, format_ns(ss_ns), share_pct)
          : std::string("The trace has no kernel view, so their cost is not measured."));
  if (top_reason == HK_SS_LRU_OFF)
    d.fix = "keep empty SuperSlabs for reuse: set HAKMEM_SS_LRU_CAP to a positive value (e.g. 16; 0 "
            "unmaps every empty SuperSlab at once)";
  else
    d.fix = fmt::format("raise HAKMEM_SS_LRU_CAP (now {}) so the LRU cache holds the working set's "
                        "empty SuperSlabs instead of evicting them",
                        a.config.lru_capacity);
  d.evidence = {{"superslab_map", double(maps)},
                {"superslab_unmap", double(unmaps)},
                {"remaps_within_window", double(rs.within_window)},
                {"remap_median_ns", double(rs.interval.quantile(0.5))},
                {"lru_capacity", double(a.config.lru_capacity)},
                {"superslab_syscalls", double(ss_calls)},
                {"superslab_syscall_ns", double(ss_ns)}};
  return d;
}

std::optional<Diagnosis> large_block_churn(const Report& r, const std::vector<Diagnosis>&) {
  const AllocatorMetrics& a = r.allocator;
  const uint64_t maps = a.count(HK_EV_LARGE_MAP), reuses = a.count(HK_EV_LARGE_REUSE);
  const RemapStats& rs = a.large_remap;
  if (!remap_churn(rs, maps, kLargeChurnMinRemaps, kLargeChurnMinRemapShare)) return std::nullopt;
  Diagnosis d;
  d.severity = "warning";
  d.summary = fmt::format(
      "large-block churn: {} large mappings, {} of them re-mapped at the same size within {} of an "
      "unmap; the large cache served {} ({})",
      maps, rs.within_window, format_ns(AllocatorMetrics::kRemapWindowNs), reuses,
      pct(ratio(reuses, maps + reuses)));
  d.explanation = fmt::format(
      "Large blocks are mapped on their own. Their cache should turn a loop of big malloc/free into "
      "reuse, but here each free unmapped the block and the next malloc mapped it again: {} unmaps, "
      "{} mapped in all, median {} between unmap and remap.",
      a.count(HK_EV_LARGE_UNMAP), format_bytes(a.large_bytes_mapped), format_ns(rs.interval.quantile(0.5)));
  d.fix = "let the large-block cache keep these sizes (more entries or a higher size limit), or keep "
          "and reuse the buffer in the program";
  d.evidence = {{"large_map", double(maps)},
                {"large_unmap", double(a.count(HK_EV_LARGE_UNMAP))},
                {"large_reuse", double(reuses)},
                {"remaps_within_window", double(rs.within_window)},
                {"remap_median_ns", double(rs.interval.quantile(0.5))}};
  return d;
}

std::optional<Diagnosis> alignment_trim(const Report& r, const std::vector<Diagnosis>& so_far) {
  const AllocatorMetrics& a = r.allocator;
  uint64_t trims = 0, os_calls = 0;
  for (const auto& [purpose, n] : a.align_trims_by_purpose) {
    // Trims made while mapping SuperSlabs that churn are already counted
    // by superslab_churn: the fix there removes them too.
    if (purpose == HK_OS_SUPERSLAB && fired(so_far, "superslab_churn")) continue;
    trims += n;
  }
  for (const auto& [reason, n] : a.os_calls_by_reason) os_calls += n;
  if (trims < kTrimMin || ratio(trims, os_calls) < kTrimMinShare) return std::nullopt;
  const uint64_t trim_ns = allocator_syscall_time(r, HK_OS_ALIGN_TRIM).total();
  const uint64_t large_trims = a.align_trims_by_purpose.count(HK_OS_LARGE) ? a.align_trims_by_purpose.at(HK_OS_LARGE) : 0;
  Diagnosis d;
  d.severity = "warning";
  d.summary = fmt::format("alignment trim: {} extra munmap calls trimming over-sized mappings to alignment, "
                          "{} of the allocator's {} memory syscalls",
                          trims, pct(ratio(trims, os_calls)), os_calls);
  d.explanation = fmt::format(
      "To get an aligned region the allocator maps more than it needs and unmaps the excess on one or "
      "both sides: {} trims for large or aligned blocks, {} in all{}.",
      large_trims, trims,
      r.join.available ? fmt::format(", taking {} in the kernel", format_ns(trim_ns)) : std::string());
  d.fix = "map aligned regions once and reuse them (cache aligned large blocks by size and alignment), "
          "or ask for smaller alignments: an alignment up to the page size needs no trim";
  d.evidence = {{"align_trims", double(trims)},
                {"large_align_trims", double(large_trims)},
                {"allocator_syscalls", double(os_calls)},
                {"trim_ns", double(trim_ns)}};
  return d;
}

std::optional<Diagnosis> foreign_mmap_churn(const Report& r, const std::vector<Diagnosis>&) {
  const OutsideMetrics& o = r.outside;
  if (o.churn_pairs() < kForeignChurnMinPairs) return std::nullopt;
  const SiteReport* top = nullptr;
  for (const SiteReport& s : r.outside_sites)
    if (!top || s.site.churn_pairs > top->site.churn_pairs) top = &s;
  std::string where = "unknown call site";
  if (top) where = top->symbol.empty() ? fmt::format("{:#x} (pid {}, not symbolized)", top->site.caller, top->site.pid)
                                       : top->symbol;
  Diagnosis d;
  d.severity = "warning";
  d.summary = fmt::format(
      "foreign mmap churn: {} mmap/munmap pairs from outside the allocator ({} mapped, median lifetime "
      "{}); top call site {} with {} pairs",
      o.churn_pairs(), format_bytes(o.churn_bytes()), format_ns(o.churn_lifetime().quantile(0.5)), where,
      top ? top->site.churn_pairs : 0);
  d.explanation =
      "Code outside the allocator (the program, or libc's own malloc for blocks above its mmap "
      "threshold) maps memory and unmaps it again within a second, paying two syscalls and fresh "
      "page faults each time.";
  d.fix = "keep and reuse the mapping, or take the memory from the heap; if the call site is glibc's "
          "malloc, raise its mmap threshold (MALLOC_MMAP_THRESHOLD_) or preload hakmem";
  d.evidence = {{"pairs", double(o.churn_pairs())},
                {"bytes", double(o.churn_bytes())},
                {"median_lifetime_ns", double(o.churn_lifetime().quantile(0.5))},
                {"top_site_pairs", double(top ? top->site.churn_pairs : 0)},
                {"top_site_address", double(top ? top->site.caller : 0)}};
  return d;
}

std::optional<Diagnosis> brk_trim_churn(const Report& r, const std::vector<Diagnosis>&) {
  const BrkStats& b = r.outside.brk();
  if (b.cycles < kBrkMinCycles) return std::nullopt;
  Diagnosis d;
  d.severity = "warning";
  d.summary = fmt::format("brk trim churn: heap top given back {} times ({} in all) and grown again {} "
                          "times; {} brk calls",
                          b.shrinks, format_bytes(b.bytes_trimmed), b.cycles, b.calls);
  d.explanation = "glibc's malloc returns the top of its heap with brk whenever more than "
                  "M_TRIM_THRESHOLD (128 KiB by default) is free there, and the next allocation "
                  "grows it back: a syscall pair and fresh page faults per cycle.";
  d.fix = "raise the trim threshold (MALLOC_TRIM_THRESHOLD_=<bytes>, or mallopt(M_TRIM_THRESHOLD)), "
          "or preload hakmem, which does not use brk";
  d.evidence = {{"brk_calls", double(b.calls)},
                {"shrinks", double(b.shrinks)},
                {"grows", double(b.grows)},
                {"cycles", double(b.cycles)},
                {"bytes_trimmed", double(b.bytes_trimmed)}};
  return d;
}

std::optional<Diagnosis> dropped_events(const Report& r, const std::vector<Diagnosis>&) {
  const DropStats& dr = r.drops;
  if (dr.total() == 0) return std::nullopt;
  const uint64_t seen = r.trace.events + r.trace.syscall_records;
  const double share = ratio(dr.total(), seen + dr.total());
  Diagnosis d;
  d.severity = share >= kDropCriticalShare ? "critical" : "warning";
  d.summary = fmt::format("dropped events: {} allocator events lost ({} dropped, {} overwritten, {} torn), "
                          "{} kernel records lost; {} of all records",
                          dr.allocator_lost(), dr.ring_dropped, dr.ring_overwritten, dr.ring_torn,
                          dr.kernel_missing(), pct(share));
  d.explanation = "The recording missed records because a buffer was full: every count in this report "
                  "is a lower bound, and the join leaves more unmatched than really were.";
  d.fix = "record again with a bigger event ring (record --ring-size, HAKMEM_RING_SIZE) or a bigger "
          "BPF ring buffer, or with less output from the program";
  d.evidence = {{"ring_dropped", double(dr.ring_dropped)},
                {"ring_overwritten", double(dr.ring_overwritten)},
                {"ring_torn", double(dr.ring_torn)},
                {"kernel_lost", double(dr.kernel_missing())},
                {"share", share}};
  return d;
}

}  // namespace

namespace {
using Rule = std::optional<Diagnosis> (*)(const Report&, const std::vector<Diagnosis>& so_far);
// In the order diagnose() reports them; a rule may consult the findings of
// the rules before it (fired) to avoid reporting one cause twice.
constexpr std::pair<const char*, Rule> kRules[] = {
    {"lru_unreachable", lru_unreachable},     {"accounting_gap", accounting_gap},
    {"stuck_slabs", stuck_slabs},             {"superslab_churn", superslab_churn},
    {"large_block_churn", large_block_churn}, {"alignment_trim", alignment_trim},
    {"foreign_mmap_churn", foreign_mmap_churn}, {"brk_trim_churn", brk_trim_churn},
    {"dropped_events", dropped_events}};
}  // namespace

const std::vector<std::string>& diagnosis_ids() {
  static const std::vector<std::string> ids = [] {
    std::vector<std::string> v;
    for (const auto& [id, rule] : kRules) v.emplace_back(id);
    return v;
  }();
  return ids;
}

std::vector<Diagnosis> diagnose(const Report& r) {
  std::vector<Diagnosis> out;
  for (const auto& [id, rule] : kRules) {
    if (std::optional<Diagnosis> d = rule(r, out)) {
      d->id = id;
      out.push_back(std::move(*d));
    }
  }
  return out;
}

}  // namespace hk::analyze
