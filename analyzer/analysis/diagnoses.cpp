#include "analysis/diagnoses.h"

#include "analysis/allocator_knobs.h"

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
// two drains, and larger than the design allows (designed_gap). A
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
// ... and so are a few cycles that each give back and regrow most of a
// large heap: bytes regrown at least twice the largest heap, of at least
// 16 MiB (a small heap's swing costs little whatever its count).
constexpr uint64_t kBrkMinPeakHeap = 16u << 20;
constexpr double kBrkMinRegrownShare = 2.0;
// madvise: memory given back and faulted in again within the refault
// window. A purge now and then is the point of purging; 16 MiB faulted
// back (4096 pages) over dozens of calls is a loop.
constexpr uint64_t kMadviseMinRefaults = 4096;
constexpr uint64_t kMadviseMinCalls = 32;
// Retained memory: a program that had at least 16 MiB live, freed most of
// it, and ran on for a quarter second and a tenth of its run with the
// memory still mapped. One that frees and exits at once gives nothing back
// by staying, so it is not retaining.
constexpr uint64_t kRetainMinPeakLive = 16u << 20;
constexpr uint64_t kRetainMinNs = 250'000'000;
constexpr double kRetainMinRunShare = 0.1;
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

// A knob's setting as its variable takes it: hakmem's with a suffix where
// exact, glibc's in plain bytes.
std::string setting_text(Knob k, uint64_t v) {
  if (k == Knob::large_cache && v && v % (1u << 20) == 0) return fmt::format("{}M", v >> 20);
  return fmt::format("{}", v);
}

// What whatif predicts for the smallest setting of k above the recorded
// one that brings `count` within reach of the best any setting gets (10%,
// or 2): that setting and a clause quoting it, or nothing when the trace
// cannot tell or no setting does better.
struct WhatIfQuote {
  uint64_t value = 0;
  std::string text;
};
std::optional<WhatIfQuote> whatif_quote(const Report& r, Knob k, uint64_t WhatIfCounts::*count, const char* what) {
  const WhatIfRow* rec = nullptr;
  std::optional<uint64_t> best;
  for (const WhatIfRow& row : r.whatif)
    if (row.knob == k && row.recorded && row.counts) rec = &row;
  if (!rec) return std::nullopt;
  for (const WhatIfRow& row : r.whatif)
    if (row.knob == k && row.counts && row.value > rec->value)
      best = std::min(best.value_or(UINT64_MAX), (*row.counts).*count);
  if (!best) return std::nullopt;
  const uint64_t reach = *best + std::max<uint64_t>(2, *best / 10);
  for (const WhatIfRow& row : r.whatif) {
    if (row.knob != k || !row.counts || row.value <= rec->value || (*row.counts).*count > reach) continue;
    const WhatIfCounts &p = *row.counts, &m = *rec->counts;
    if (p.*count >= m.*count) return std::nullopt;
    return WhatIfQuote{row.value, fmt::format("with {}={}: {} {} instead of {}, {} memory syscalls instead of {} "
                                              "(whatif)",
                                              knob_env(k), setting_text(k, row.value), p.*count, what, m.*count,
                                              p.memory_syscalls, m.memory_syscalls)};
  }
  return std::nullopt;
}

// ", followed by N page faults taking T (in-kernel, for the K of them the
// probe could time)": what giving the memory back cost afterwards.
std::string fault_clause(const Report& r, const FaultCost& c, const char* lead = ", followed by") {
  if (!r.faults.seen()) return "";
  if (c.timed == 0) return fmt::format("{} {} page faults", lead, c.faults);
  return fmt::format("{} {} page faults taking {}{}", lead, c.faults, format_ns(c.ns()),
                     c.timed == c.faults ? std::string() : fmt::format(" (scaled from {} timed)", c.timed));
}

// The call site's symbol, or its raw address.
std::string site_name(const std::string& symbol, uint32_t pid, uint64_t caller) {
  return symbol.empty() ? fmt::format("{:#x} (pid {}, not symbolized)", caller, pid) : symbol;
}

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
// blocks between two drains, and its caches as many as their capacities
// (which grow while the program cycles bulks: the snapshot logs them): that
// gap is the design, not a fault.
uint64_t designed_gap(const Report& r, const SnapshotPoint& p) {
  const AllocatorConfig& cfg = r.allocator.config;
  if (!cfg.seen || cfg.drain_interval == 0) return 0;
  return std::max(cfg.drain_interval * std::max<uint64_t>(1, r.trace.threads), p.capacity);
}

bool persistent_gap(const Report& r, const ClassAccounting& c) {
  if (c.gap_snapshots > 0 && never_drained(r)) return true;
  return c.gap_snapshots >= kGapMinSnapshots && ratio(c.gap_snapshots, c.snapshots) >= kGapMinSnapshotShare &&
         c.worst.parked > designed_gap(r, c.worst);
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
          ? fmt::format("The kernel confirms {} SuperSlab syscalls taking {} ({:.1f}% of the run){}.",
                        ss_calls, format_ns(ss_ns), share_pct,
                        fault_clause(r, r.faults.allocator_churn_faults(), ", and the short-lived mappings took"))
          : std::string("The trace has no kernel view, so their cost is not measured."));
  const auto quote = whatif_quote(r, Knob::lru_cap, &WhatIfCounts::superslab_maps, "SuperSlab maps");
  const std::string to = quote ? fmt::format(" to {}", quote->value) : std::string();
  if (top_reason == HK_SS_LRU_OFF)
    d.fix = quote ? fmt::format("keep empty SuperSlabs for reuse: set HAKMEM_SS_LRU_CAP{} (0 unmaps every empty "
                                "SuperSlab at once)",
                                to)
                  : "keep empty SuperSlabs for reuse: set HAKMEM_SS_LRU_CAP to a positive value (e.g. 16; 0 "
                    "unmaps every empty SuperSlab at once)";
  else
    d.fix = fmt::format("raise HAKMEM_SS_LRU_CAP (now {}){} so the LRU cache holds the working set's "
                        "empty SuperSlabs instead of evicting them",
                        a.config.lru_capacity, to);
  if (quote) d.fix += "; " + quote->text;
  d.evidence = {{"superslab_map", double(maps)},
                {"superslab_unmap", double(unmaps)},
                {"remaps_within_window", double(rs.within_window)},
                {"remap_median_ns", double(rs.interval.quantile(0.5))},
                {"lru_capacity", double(a.config.lru_capacity)},
                {"superslab_syscalls", double(ss_calls)},
                {"superslab_syscall_ns", double(ss_ns)},
                {"churn_faults", double(r.faults.allocator_churn_faults().faults)},
                {"churn_fault_ns", double(r.faults.allocator_churn_faults().ns())}};
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
      "{} mapped in all, median {} between unmap and remap{}.",
      a.count(HK_EV_LARGE_UNMAP), format_bytes(a.large_bytes_mapped), format_ns(rs.interval.quantile(0.5)),
      fault_clause(r, r.faults.allocator_churn_faults(), "; the short-lived mappings took"));
  const auto quote = whatif_quote(r, Knob::large_cache, &WhatIfCounts::large_maps, "large maps");
  d.fix = quote ? fmt::format("let the large-block cache keep these sizes: leave HAKMEM_LARGE_CACHE_ADAPTIVE at 1 "
                              "(its default, which keeps up to the peak of live large bytes), or set "
                              "HAKMEM_LARGE_CACHE_CAP={}, or keep and reuse the buffer in the program; {}",
                              setting_text(Knob::large_cache, quote->value), quote->text)
                : "let the large-block cache keep these sizes (more entries or a higher size limit), or keep "
                  "and reuse the buffer in the program";
  d.evidence = {{"large_map", double(maps)},
                {"large_unmap", double(a.count(HK_EV_LARGE_UNMAP))},
                {"large_reuse", double(reuses)},
                {"remaps_within_window", double(rs.within_window)},
                {"remap_median_ns", double(rs.interval.quantile(0.5))},
                {"churn_faults", double(r.faults.allocator_churn_faults().faults)},
                {"churn_fault_ns", double(r.faults.allocator_churn_faults().ns())}};
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
  const std::string where = top ? site_name(top->symbol, top->site.pid, top->site.caller) : "unknown call site";
  const SiteOwner owner = top ? owner_of(top->symbol) : SiteOwner::program;
  // The syscalls the churn took: the pairs' munmaps and as many mmaps.
  uint64_t ns = 0;
  for (const SiteReport& s : r.outside_sites)
    if (s.site.nr == HK_NR_MMAP || s.site.nr == HK_NR_MUNMAP) ns += s.site.total_ns;
  const FaultCost& f = r.faults.churn_faults();
  Diagnosis d;
  d.severity = "warning";
  d.summary = fmt::format(
      "foreign mmap churn: {} munmap + {} mmap of short-lived mappings from outside the allocator ({} mapped, "
      "median lifetime {}){}{}; top call site {} ({}) with {} pairs",
      o.churn_pairs(), o.churn_pairs(), format_bytes(o.churn_bytes()), format_ns(o.churn_lifetime().quantile(0.5)),
      r.trace.has_kernel ? fmt::format(", their call sites' mmap/munmap taking {}", format_ns(ns)) : "",
      fault_clause(r, f), where, owner_name(owner), top ? top->site.churn_pairs : 0);
  d.explanation =
      "Code outside the allocator (the program, libc's own malloc for blocks above its mmap threshold, or "
      "another allocator) maps memory and unmaps it again within a second, paying two syscalls and fresh, "
      "zeroed pages on every use.";
  d.fix = mmap_churn_fix(owner);
  d.evidence = {{"pairs", double(o.churn_pairs())},
                {"bytes", double(o.churn_bytes())},
                {"median_lifetime_ns", double(o.churn_lifetime().quantile(0.5))},
                {"syscall_ns", double(ns)},
                {"faults", double(f.faults)},
                {"fault_ns", double(f.ns())},
                {"top_site_pairs", double(top ? top->site.churn_pairs : 0)},
                {"top_site_address", double(top ? top->site.caller : 0)}};
  return d;
}

std::optional<Diagnosis> madvise_churn(const Report& r, const std::vector<Diagnosis>&) {
  const FaultMetrics& fm = r.faults;
  const FaultCost& rf = fm.refaults();
  if (rf.faults < kMadviseMinRefaults || fm.madvise_calls() < kMadviseMinCalls) return std::nullopt;
  const AdviseReport* top = r.advise_sites.empty() ? nullptr : &r.advise_sites.front();
  const std::string where = top ? site_name(top->symbol, top->site.pid, top->site.caller) : "unknown call site";
  const SiteOwner owner = top ? owner_of(top->symbol) : SiteOwner::program;
  const uint64_t cost_ns = fm.madvise_ns() + rf.ns();
  const double share_pct = r.trace.wall_ns() ? 100.0 * double(cost_ns) / double(r.trace.wall_ns()) : 0.0;
  Diagnosis d;
  d.severity = share_pct >= kCriticalSyscallSharePct ? "critical" : "warning";
  d.summary = fmt::format(
      "madvise churn: {} madvise calls gave back {} taking {}{} within {}; top call site {} ({}) with {} calls "
      "and {} refaults",
      fm.madvise_calls(), format_bytes(fm.madvise_bytes()), format_ns(fm.madvise_ns()), fault_clause(r, rf),
      format_ns(FaultMetrics::kRefaultWindowNs), where, owner_name(owner), top ? top->site.calls : 0,
      top ? top->site.refaults.faults : 0);
  d.explanation = fmt::format(
      "Memory given back to the kernel with madvise (DONTNEED, FREE, REMOVE, COLD or PAGEOUT) was touched "
      "again soon after, so each page came back through a page fault and a zeroed (or read-back) page: the "
      "purge saved nothing and cost {:.1f}% of the run in the kernel.",
      share_pct);
  d.fix = purge_fix(owner);
  if (owner == SiteOwner::hakmem)
    for (const WhatIfRow& row : r.whatif)
      if (row.knob == Knob::purge_delay && !row.counts) {
        d.fix += "; whatif cannot predict another HAKMEM_PURGE_DELAY_MS from this trace: it needs " + row.needs;
        break;
      }
  d.evidence = {{"madvise_calls", double(fm.madvise_calls())},
                {"madvise_bytes", double(fm.madvise_bytes())},
                {"madvise_ns", double(fm.madvise_ns())},
                {"refaults", double(rf.faults)},
                {"refault_ns", double(rf.ns())},
                {"refaults_timed", double(rf.timed)},
                {"top_site_calls", double(top ? top->site.calls : 0)},
                {"top_site_refaults", double(top ? top->site.refaults.faults : 0)},
                {"top_site_address", double(top ? top->site.caller : 0)}};
  return d;
}

std::optional<Diagnosis> brk_trim_churn(const Report& r, const std::vector<Diagnosis>&) {
  const BrkStats& b = r.outside.brk();
  const bool by_count = b.cycles >= kBrkMinCycles;
  const bool by_volume = b.cycles > 0 && b.peak_heap >= kBrkMinPeakHeap &&
                         double(b.bytes_regrown) >= kBrkMinRegrownShare * double(b.peak_heap);
  if (!by_count && !by_volume) return std::nullopt;
  uint64_t brk_ns = 0;
  if (auto it = r.syscalls.rows().find(HK_NR_BRK); it != r.syscalls.rows().end()) brk_ns = it->second.latency.total();
  const FaultCost& f = r.faults.brk_regrow_faults();
  Diagnosis d;
  d.severity = "warning";
  d.summary = fmt::format("brk trim churn: heap top given back {} times ({}) and grown again {} times ({} "
                          "regrown, largest heap {}); {} brk calls taking {}{}",
                          b.shrinks, format_bytes(b.bytes_trimmed), b.cycles, format_bytes(b.bytes_regrown),
                          format_bytes(b.peak_heap), b.calls, format_ns(brk_ns),
                          fault_clause(r, f, ", and the regrown memory took"));
  d.explanation = "glibc's malloc returns the top of its heap with brk whenever more than "
                  "M_TRIM_THRESHOLD is free there, and the next allocations grow it back: a syscall pair per "
                  "cycle, and a fresh zeroed page fault for every page of the regrown memory.";
  d.fix = brk_trim_fix();
  if (const auto quote = whatif_quote(r, Knob::trim_threshold, &WhatIfCounts::brk_calls, "brk calls"))
    d.fix += "; " + quote->text;
  d.evidence = {{"brk_calls", double(b.calls)},
                {"brk_ns", double(brk_ns)},
                {"shrinks", double(b.shrinks)},
                {"grows", double(b.grows)},
                {"cycles", double(b.cycles)},
                {"bytes_trimmed", double(b.bytes_trimmed)},
                {"bytes_regrown", double(b.bytes_regrown)},
                {"peak_heap", double(b.peak_heap)},
                {"regrow_faults", double(f.faults)},
                {"regrow_fault_ns", double(f.ns())}};
  return d;
}

std::optional<Diagnosis> memory_retained(const Report& r, const std::vector<Diagnosis>&) {
  const RetainedPhase& ph = r.retention.longest();
  if (ph.peak_live < kRetainMinPeakLive || ph.duration_ns() < kRetainMinNs ||
      double(ph.duration_ns()) < kRetainMinRunShare * double(r.trace.wall_ns()))
    return std::nullopt;
  const Holding& h = ph.at;
  const uint64_t lru = h.lru_superslabs * r.allocator.config.superslab_bytes;
  const uint64_t held = h.mapped > h.live ? h.mapped - h.live : 0;
  const uint64_t named = std::min(held, h.parked + lru);
  const uint64_t in_slabs = held - named;  // free space in partly used slabs, cached large blocks
  Diagnosis d;
  d.severity = "warning";
  d.summary = fmt::format(
      "memory retained: live memory fell to {} ({} of its peak {}), yet the allocator kept {} mapped ({} of its "
      "peak {}) for {} until the process ended or needed it again: {} parked in thread caches, {} in {} empty "
      "SuperSlabs in the LRU cache, {} free inside partly used slabs and the large-block cache",
      format_bytes(h.live), pct(ratio(h.live, ph.peak_live)), format_bytes(ph.peak_live), format_bytes(h.mapped),
      pct(ratio(h.mapped, ph.peak_mapped)), format_bytes(ph.peak_mapped), format_ns(ph.duration_ns()),
      format_bytes(h.parked), format_bytes(lru), h.lru_superslabs, format_bytes(in_slabs));
  d.explanation =
      "The program freed most of its memory, but the allocator gave little of it back: memory stays mapped "
      "while it sits in thread caches (counted used), in empty SuperSlabs kept for reuse, or in slabs that "
      "still hold a few live blocks each and so can never be returned.";
  if (h.parked >= lru && h.parked >= in_slabs)
    d.fix = drain_fix(r.allocator.config);
  else if (lru >= in_slabs)
    d.fix = fmt::format("keep fewer empty SuperSlabs: lower HAKMEM_SS_LRU_CAP (now {})",
                        r.allocator.config.lru_capacity);
  else
    d.fix = "the few blocks still live are spread over many slabs, so none can empty: free long-lived blocks "
            "with their neighbours, or allocate them apart (their own size or arena); lower "
            "HAKMEM_LARGE_CACHE_CAP if cached large blocks hold it";
  d.evidence = {{"peak_live_bytes", double(ph.peak_live)},
                {"live_bytes", double(h.live)},
                {"peak_mapped_bytes", double(ph.peak_mapped)},
                {"mapped_bytes", double(h.mapped)},
                {"parked_bytes", double(h.parked)},
                {"lru_superslabs", double(h.lru_superslabs)},
                {"in_slabs_bytes", double(in_slabs)},
                {"duration_ns", double(ph.duration_ns())}};
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
    {"foreign_mmap_churn", foreign_mmap_churn}, {"madvise_churn", madvise_churn},
    {"brk_trim_churn", brk_trim_churn},       {"memory_retained", memory_retained},
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
