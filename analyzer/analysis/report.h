// Report: everything the analysis concluded about one trace, ready to be
// rendered (report_text, report_json), compared (diff) or gated (check).
//
// Contract: built once by Analysis::finish() and then read-only; plain data,
// safe to copy and to use from any thread after that. Every number in it was
// computed from the trace; diagnoses are derived from the rest by
// diagnose() (diagnoses.h).
#pragma once

#include "analysis/accounting.h"
#include "analysis/allocator_metrics.h"
#include "analysis/fault_metrics.h"
#include "analysis/join.h"
#include "analysis/outside_metrics.h"
#include "analysis/retention.h"
#include "analysis/syscall_table.h"
#include "analysis/time_series.h"
#include "analysis/whatif.h"
#include "trace/trace_file.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hk::analyze {

struct TraceSummary {
  std::string path;
  TraceMeta meta;
  std::string command;
  uint64_t start_ns = 0, end_ns = 0;
  uint64_t events = 0;           // allocator events read
  uint64_t syscall_records = 0;  // kernel records read (calls and lifecycle)
  uint64_t processes = 0, threads = 0;
  bool has_allocator = false;  // the trace holds a ring (preload on)
  bool has_kernel = false;     // the probe ran (bpf on)
  bool complete = false;       // the footer was read
  std::string truncation;      // why not, when not
  int exit_status = 0;
  // `attach`: the process it attached to (0 for `record`), and how long
  // that process had run by then; nothing before start_ns is in the trace.
  uint32_t attached_pid = 0;
  uint64_t attached_after_ns = 0;
  uint64_t out_of_order = 0;   // records the timeline could not order
  uint64_t wall_ns() const { return end_ns > start_ns ? end_ns - start_ns : 0; }
};

struct DropStats {
  uint64_t ring_dropped = 0, ring_overwritten = 0, ring_torn = 0;
  uint64_t kernel_lost = 0;      // the probe's reserve-failure counter
  uint64_t kernel_seq_gaps = 0;  // sequence numbers never seen
  uint64_t allocator_lost() const { return ring_dropped + ring_overwritten + ring_torn; }
  uint64_t kernel_missing() const { return kernel_lost > kernel_seq_gaps ? kernel_lost : kernel_seq_gaps; }
  uint64_t total() const { return allocator_lost() + kernel_missing(); }
};

struct JoinSummary {
  bool available = false;  // both sources present
  uint64_t allocator_os_events = 0;
  uint64_t matched = 0;
  uint64_t kernel_only = 0;     // syscalls from outside the allocator
  uint64_t allocator_only = 0;  // allocator events with no syscall, drops excluded
  uint64_t lost_to_drops = 0;   // allocator events whose syscall record was lost
  uint64_t overflowed = 0;      // resolved early by the join's bounds
  // matched / allocator OS events: how much of the allocator's story the
  // kernel confirms. Negative when there is nothing to join.
  double rate() const {
    return allocator_os_events ? static_cast<double>(matched) / static_cast<double>(allocator_os_events) : -1.0;
  }
};

struct Evidence {
  std::string key;
  double value = 0;
};

struct Diagnosis {
  std::string id;        // stable: lru_unreachable, superslab_churn, ...
  std::string severity;  // "critical", "warning" or "info"
  std::string summary;   // one line with the numbers
  std::string explanation;
  std::string fix;
  std::vector<Evidence> evidence;
};

// A call site of syscalls from outside the allocator, with its name when the
// trace let us symbolize it.
struct SiteReport {
  CallSite site;
  std::string symbol;  // "func+0x1a (libc.so.6)", or empty
  FaultCost faults;    // page faults in the mappings it made (mmap sites)
};

// A call site that gave memory back with madvise, symbolized.
struct AdviseReport {
  AdviseSite site;
  std::string symbol;
};

struct Report {
  TraceSummary trace;
  SyscallTable syscalls;
  AllocatorMetrics allocator;
  Accounting accounting;
  OutsideMetrics outside;
  std::vector<SiteReport> outside_sites;  // top sites, symbolized
  FaultMetrics faults;                    // page faults, refaults, RSS
  Retention retention;                    // memory freed yet kept mapped
  std::vector<AdviseReport> advise_sites; // top madvise sites, symbolized
  std::string symbolization;              // how call sites were named, one line
  JoinSummary join;
  // Kernel time of the allocator's matched syscalls, by hk_os_reason: what
  // each purpose (SuperSlabs, large blocks, trims) cost in the kernel.
  std::map<uint8_t, DurationStats> allocator_syscall_time;
  DropStats drops;
  // The trace replayed under other settings of its knobs (whatif.h),
  // which the diagnoses' fixes quote.
  std::vector<WhatIfRow> whatif;
  std::vector<Diagnosis> diagnoses;
  // The charts' data over time, downsampled as it was read (series.h names).
  TimeSeries series;

  // Kernel time in traced syscalls over wall time, in percent (strace -c's
  // "% time" is relative to syscall time; this is relative to the run).
  double syscall_share_pct() const;
  bool has(const std::string& id) const;
};

}  // namespace hk::analyze
