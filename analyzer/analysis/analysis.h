// Analysis: the report pipeline. Records go in chunk by chunk, through the
// timeline (time order) and the join (allocator vs kernel), into the
// metrics; finish() symbolizes, diagnoses and returns the Report.
//
// Contract: one Analysis per trace, on one thread. Memory is bounded by the
// timeline's and join's limits and by what the traced processes had mapped
// at one time, not by the number of records, so a trace of any length can
// be reported on. analyze_trace() reads a file with TraceReader and throws
// TraceError (one line) when the file is unusable; a truncated file is
// analysed up to its last good chunk and the report says so.
#pragma once

#include "analysis/report.h"
#include "analysis/series.h"
#include "analysis/timeline.h"
#include "analysis/whatif.h"
#include "trace/trace_file.h"

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>

namespace hk::analyze {

struct AnalysisLimits {
  TimelineLimits timeline;
  JoinLimits join;
};

class Analysis : private TimelineSink, private JoinSink {
 public:
  // whatif: the settings to replay (whatif.h); the report's default is
  // what its fixes quote.
  explicit Analysis(std::string path = {}, AnalysisLimits limits = {},
                    WhatIfRequest whatif = WhatIfRequest::for_report());
  ~Analysis() override;

  void add_meta(const TraceMeta& meta);
  void add_events(uint32_t pid, std::span<const hk_event> events);
  void add_syscalls(std::span<const hk_sys_record> records);
  void add_ring(const hk_trace_ring_info& info);
  void add_footer(const hk_trace_footer& footer);
  void add_chunk(const TraceChunk& chunk);
  void set_truncated(const std::string& why);

  Report finish();

 private:
  void on_event(uint32_t pid, const hk_event& ev) override;
  void on_syscall(const hk_sys_record& rec) override;
  void on_matched(const hk_sys_record& sys, const hk_event& ev) override;
  void on_kernel_only(const hk_sys_record& sys) override;
  void on_allocator_only(uint32_t pid, const hk_event& ev) override;
  void note_time(uint64_t ts);
  void note_thread(uint32_t pid, uint32_t tid);

  Report r_;
  Timeline timeline_;
  Join join_;
  SeriesCollector series_;
  WhatIf whatif_;
  uint64_t first_ts_ = UINT64_MAX, last_ts_ = 0;
  uint64_t meta_start_ = 0, footer_end_ = 0;
  bool have_footer_ = false;
  uint64_t seq_min_ = UINT64_MAX, seq_max_ = 0, seq_count_ = 0;
  std::map<uint32_t, hk_trace_ring_info> rings_;
  std::unordered_set<uint32_t> pids_, tids_;
  uint32_t last_pid_ = 0, last_tid_ = 0;
};

// Told (bytes read, file size) after each chunk, for a progress display.
using ReadProgress = std::function<void(uint64_t done, uint64_t total)>;

// Reads and analyses a whole trace file. Throws TraceError.
Report analyze_trace(const std::string& path, AnalysisLimits limits = {}, const ReadProgress& progress = {},
                     WhatIfRequest whatif = WhatIfRequest::for_report());

}  // namespace hk::analyze
