#include "analysis/analysis.h"

#include "analysis/diagnoses.h"
#include "analysis/symbolizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

namespace hk::analyze {

namespace {
// Threads and processes are counted for the summary only; a program that
// starts threads in a loop (or a hostile trace) must not make the sets grow
// without bound.
constexpr size_t kMaxCountedThreads = 1u << 16;
// Call sites shown (and symbolized) in the report.
constexpr size_t kReportedSites = 10;

uint64_t meta_u64(const TraceMeta& meta, const char* key) {
  auto it = meta.find(key);
  return it == meta.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 10);
}
}  // namespace

Analysis::Analysis(std::string path, AnalysisLimits limits, WhatIfRequest whatif)
    : timeline_(*this, limits.timeline), join_(*this, limits.join), whatif_(std::move(whatif)) {
  r_.trace.path = std::move(path);
}

Analysis::~Analysis() = default;

void Analysis::add_meta(const TraceMeta& meta) {
  for (const auto& [k, v] : meta) r_.trace.meta[k] = v;
  if (auto it = r_.trace.meta.find("command"); it != r_.trace.meta.end()) r_.trace.command = it->second;
  if (uint64_t s = meta_u64(r_.trace.meta, "start_mono_ns")) {
    meta_start_ = s;
    series_.start(s);
  }
  if (uint64_t pid = meta_u64(r_.trace.meta, "attach.pid")) {
    r_.trace.attached_pid = uint32_t(pid);
    r_.trace.attached_after_ns = meta_u64(r_.trace.meta, "attach.process_age_ns");
  }
  if (auto it = r_.trace.meta.find("bpf"); it != r_.trace.meta.end() && it->second == "1")
    r_.trace.has_kernel = true;
  if (auto it = r_.trace.meta.find("preload"); it != r_.trace.meta.end()) whatif_.set_preload(it->second == "1");
}

void Analysis::note_time(uint64_t ts) {
  if (ts == 0) return;
  first_ts_ = std::min(first_ts_, ts);
  last_ts_ = std::max(last_ts_, ts);
}

void Analysis::note_thread(uint32_t pid, uint32_t tid) {
  // Records come in runs from one thread; skip the sets for a repeat.
  if (pid == last_pid_ && tid == last_tid_) return;
  last_pid_ = pid;
  last_tid_ = tid;
  if (pids_.size() < kMaxCountedThreads) pids_.insert(pid);
  if (tids_.size() < kMaxCountedThreads) tids_.insert(tid);
}

void Analysis::add_events(uint32_t pid, std::span<const hk_event> events) {
  r_.trace.has_allocator = true;
  r_.trace.events += events.size();
  timeline_.push_events(pid, events);
}

void Analysis::add_syscalls(std::span<const hk_sys_record> records) {
  r_.trace.has_kernel = true;
  r_.trace.syscall_records += records.size();
  for (const hk_sys_record& s : records) {
    seq_min_ = std::min<uint64_t>(seq_min_, s.seq);
    seq_max_ = std::max<uint64_t>(seq_max_, s.seq);
  }
  seq_count_ += records.size();
  timeline_.push_syscalls(records);
}

void Analysis::add_ring(const hk_trace_ring_info& info) {
  r_.trace.has_allocator = true;
  // Counters in later infos of the same ring supersede earlier ones.
  rings_[info.pid] = info;
}

void Analysis::add_footer(const hk_trace_footer& footer) {
  have_footer_ = true;
  footer_end_ = footer.end_mono_ns;
  r_.trace.exit_status = footer.exit_status;
  r_.drops.kernel_lost = footer.bpf_lost;
  r_.trace.complete = true;
}

void Analysis::add_chunk(const TraceChunk& c) {
  switch (c.type) {
    case HK_CHUNK_META: add_meta(c.meta); break;
    case HK_CHUNK_EVENTS: add_events(c.source_pid, c.events); break;
    case HK_CHUNK_SYSCALLS: add_syscalls(c.syscalls); break;
    case HK_CHUNK_RING:
      if (c.ring) add_ring(*c.ring);
      break;
    case HK_CHUNK_FOOTER:
      if (c.footer) add_footer(*c.footer);
      break;
    default: break;
  }
}

void Analysis::set_truncated(const std::string& why) {
  r_.trace.complete = false;
  r_.trace.truncation = why;
}

void Analysis::on_event(uint32_t pid, const hk_event& ev) {
  note_time(ev.ts_ns);
  note_thread(pid, ev.tid);
  r_.allocator.add(pid, ev);
  series_.on_event(pid, ev);
  whatif_.on_event(pid, ev);
  r_.retention.add(pid, ev, r_.allocator);
  if (ev.type == HK_EV_SNAPSHOT) r_.accounting.add(ev);
  if (Join::joinable_event(ev)) {
    ++r_.join.allocator_os_events;
    join_.on_event(pid, ev);
  }
  join_.advance(ev.ts_ns);
}

void Analysis::on_syscall(const hk_sys_record& rec) {
  note_time(rec.exit_ns);
  note_thread(rec.pid, rec.tid);
  r_.faults.add(rec);
  series_.on_syscall(rec);
  whatif_.on_syscall(rec);
  if (rec.kind == HK_SYS_CALL) {
    r_.syscalls.add(rec);
    join_.on_syscall(rec);
  } else if (rec.kind == HK_SYS_EXIT || rec.kind == HK_SYS_EXEC) {
    // The kernel tore the old address space down without munmap calls.
    r_.allocator.process_gone(rec.pid);
    r_.outside.process_gone(rec.pid);
    series_.process_gone(rec.pid, rec.exit_ns);
  }
  join_.advance(rec.exit_ns);
}

void Analysis::on_matched(const hk_sys_record& sys, const hk_event& ev) {
  r_.syscalls.mark_allocator(sys);
  if (sys.nr == HK_NR_MMAP) r_.faults.classify(sys, true, ev.reason);
  r_.allocator_syscall_time[ev.reason].add(sys.exit_ns >= sys.enter_ns ? sys.exit_ns - sys.enter_ns : 0);
}

void Analysis::on_kernel_only(const hk_sys_record& sys) {
  if (sys.nr == HK_NR_MMAP) r_.faults.classify(sys, false, 0);
  r_.outside.add(sys);
}

void Analysis::on_allocator_only(uint32_t, const hk_event&) {}

Report Analysis::finish() {
  timeline_.finish();
  join_.finish();
  Report& r = r_;
  r.faults.finish();
  r.retention.finish(r.allocator);
  r.trace.out_of_order = timeline_.out_of_order();
  r.trace.processes = pids_.size();
  r.trace.threads = tids_.size();
  r.trace.start_ns = meta_start_ ? meta_start_ : (first_ts_ == UINT64_MAX ? 0 : first_ts_);
  r.trace.end_ns = have_footer_ && footer_end_ >= r.trace.start_ns ? footer_end_ : last_ts_;
  if (!r.trace.complete && r.trace.truncation.empty()) r.trace.truncation = "no footer";

  for (const auto& [pid, info] : rings_) {
    r.drops.ring_dropped += info.dropped;
    r.drops.ring_overwritten += info.overwritten;
    r.drops.ring_torn += info.torn;
  }
  if (seq_count_ > 0) r.drops.kernel_seq_gaps = seq_max_ - seq_min_ + 1 - std::min(seq_count_, seq_max_ - seq_min_ + 1);

  const JoinCounts& jc = join_.counts();
  r.join.available = r.trace.has_allocator && r.trace.has_kernel;
  r.join.matched = jc.matched;
  r.join.kernel_only = jc.kernel_only;
  r.join.overflowed = jc.overflowed;
  // Without a count of which records were lost we can only say how many of
  // the unmatched allocator events the kernel's losses can explain.
  r.join.lost_to_drops = r.join.available ? std::min(jc.allocator_only, r.drops.kernel_missing()) : 0;
  r.join.allocator_only = r.join.available ? jc.allocator_only - r.join.lost_to_drops : 0;

  Symbolizer symbols(r.trace.meta);
  size_t with_layout = 0;
  for (const CallSite& s : r.outside.sites()) {
    if (r.outside_sites.size() == kReportedSites) break;
    SiteReport sr{s, symbols.name(s.pid, s.caller), r.faults.site_faults(s.pid, s.caller)};
    if (symbols.has_layout(s.pid)) ++with_layout;
    r.outside_sites.push_back(std::move(sr));
  }
  if (r.outside_sites.empty()) r.symbolization = "no call sites to name";
  else if (with_layout == r.outside_sites.size())
    r.symbolization = "call sites named from the process maps stored in the trace";
  else
    r.symbolization = fmt::format(
        "{} of {} call sites are raw addresses: the trace holds no /proc/PID/maps for their process",
        r.outside_sites.size() - with_layout, r.outside_sites.size());

  r.series = series_.finish(r.trace.end_ns);
  for (const AdviseSite& s : r.faults.advise_sites()) {
    if (r.advise_sites.size() == kReportedSites) break;
    r.advise_sites.push_back({s, symbols.name(s.pid, s.caller)});
  }

  r.whatif = whatif_.finish(r);
  r.diagnoses = diagnose(r);
  return std::move(r_);
}

Report analyze_trace(const std::string& path, AnalysisLimits limits, const ReadProgress& progress,
                     WhatIfRequest whatif) {
  TraceReader reader(path);
  Analysis analysis(path, limits, std::move(whatif));
  analysis.add_meta(reader.meta());
  TraceChunk chunk;
  while (reader.next(chunk)) {
    analysis.add_chunk(chunk);
    if (progress) progress(reader.offset(), reader.size());
  }
  if (reader.truncated()) analysis.set_truncated(reader.truncation_reason());
  return analysis.finish();
}

}  // namespace hk::analyze
