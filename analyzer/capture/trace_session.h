// TraceSession: what `record` and `attach` share while they capture: the
// trace file's output path, the writer session fed by both sources, the
// metadata every trace starts with, and the summary printed at the end.
//
// Contract: used on the capturing command's one thread.
//  - TraceOutput never follows a link nor truncates what it did not make
//    (README, "-o FILE"): open() writes a regular FILE under a temporary
//    name FILE.<pid>.partial created new, and publish() renames it to FILE
//    (keeping an earlier regular FILE as FILE.old) once there is something
//    to keep; a FIFO or device is written in place. discard() removes the
//    temporary file of a capture that never started.
//  - TraceSession batches the probe's records, writes ring chunks as the
//    collector hands them over, learns the allocator's configuration from
//    its first HK_EV_CONFIG, keeps the traced processes' layouts, and keeps
//    the numbers for the summary. A write failure is reported once (one
//    line, prefixed with the command's name); from then on records are
//    counted, not written.
#pragma once

#include "capture/maps_sampler.h"
#include "capture/ring_collector.h"
#include "trace/trace_file.h"

#include <hakmem/syscall_record.h>

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hk::analyze {

// A chunk per source holds at most this many records, and no record waits
// in memory longer than kChunkMaxAgeNs before it reaches the file.
inline constexpr size_t kChunkRecords = 4096;
inline constexpr uint64_t kChunkMaxAgeNs = 100'000'000;

uint64_t clock_ns(clockid_t id);
inline uint64_t mono_ns() { return clock_ns(CLOCK_MONOTONIC); }

// The allocators' settings a trace keeps as META "env.<name>" (`whatif`
// marks the recorded setting by them).
inline constexpr const char* kAllocatorKnobs[] = {
    "HAKMEM_TLS_SLL_DRAIN_INTERVAL", "HAKMEM_SS_LRU_CAP",      "HAKMEM_LARGE_CACHE_CAP",
    "HAKMEM_LARGE_CACHE_ADAPTIVE",   "HAKMEM_PURGE_DELAY_MS", "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_MMAP_THRESHOLD_"};

// host, kernel, clock, start times and version: the metadata every trace
// has, whatever captured it.
TraceMeta base_meta(uint64_t start_mono, uint64_t start_real);

// META keys bpf, bpf.attach, bpf.user_stacks and bpf.faults.
void probe_meta(TraceMeta& m, bool bpf, const std::string& attach_kind, bool user_stacks, bool faults);

class TraceOutput {
 public:
  // Refuses (false, `why`) a symbolic link at `path`.
  bool check(const std::string& path, std::string* why);
  // Creates the writer (throws TraceError); `owner`, when given, gets the file.
  TraceWriter& open(const TraceMeta& meta, std::optional<std::pair<uid_t, gid_t>> owner,
                    const std::string& tool);
  void publish(const std::string& tool);
  void discard();
  const std::string& path() const { return path_; }
  TraceWriter& writer() { return *writer_; }

 private:
  std::string target_, path_;
  bool in_place_ = false;
  std::unique_ptr<TraceWriter> writer_;
};

class TraceSession final : public RingSink {
 public:
  TraceSession(TraceWriter& w, std::string tool);

  void syscall(const hk_sys_record& r, uint64_t now);
  void tick(uint64_t now);
  void flush_syscalls();
  // A process that just started or exec'd: its layout is new.
  void process_started(uint32_t pid) { layouts_.exec(pid); }
  // Reads the layouts that are due and writes those that changed.
  void sample_layouts(uint64_t now);
  void meta(const TraceMeta& m);

  void ring_opened(const hk_trace_ring_info& info) override;
  void ring_events(uint32_t pid, std::span<const hk_event> events) override;
  void ring_closed(const hk_trace_ring_info& info) override;
  void ring_refused(const std::string& path, const std::string& why) override;

  void finish(hk_trace_footer f);

  bool failed() const { return failed_; }
  uint64_t events() const { return events_; }
  uint64_t rings() const { return rings_; }
  const std::vector<uint32_t>& ring_pids() const { return ring_pids_; }
  uint64_t syscalls() const { return sys_total_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t overwritten() const { return overwritten_; }
  uint64_t torn() const { return torn_; }
  uint64_t layouts_written() const { return layouts_written_; }
  const std::map<uint32_t, uint64_t>& by_nr() const { return by_nr_; }
  const std::map<uint32_t, uint64_t>& by_kind() const { return by_kind_; }
  uint64_t faults() const { return faults_; }
  const std::string& tool() const { return tool_; }

 private:
  template <class F>
  void write(F&& f);
  void learn_config(std::span<const hk_event> events);

  TraceWriter& w_;
  std::string tool_;
  MapsSampler layouts_;
  uint64_t layouts_written_ = 0;
  std::vector<hk_sys_record> sys_pending_;
  uint64_t sys_since_ = 0, sys_total_ = 0;
  std::map<uint32_t, uint64_t> by_nr_, by_kind_;
  uint64_t faults_ = 0;  // page faults the HK_SYS_FAULTS records sum
  uint64_t events_ = 0, rings_ = 0, dropped_ = 0, overwritten_ = 0, torn_ = 0;
  std::vector<uint32_t> ring_pids_;
  bool config_learned_ = false, failed_ = false;
};

// What `allocator` says when no ring was recorded ("" = one was expected).
void print_summary(const TraceSession& s, const std::string& allocator_absent, bool bpf,
                   const std::string& path, uint64_t lost, uint64_t duration_ns,
                   const std::string& outcome);

}  // namespace hk::analyze
