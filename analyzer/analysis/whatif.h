// What-if: replays what a trace recorded under other settings of the
// allocator's knobs (hakmem's HAKMEM_SS_LRU_CAP and HAKMEM_LARGE_CACHE_CAP,
// glibc's MALLOC_TRIM_THRESHOLD_) and predicts, per setting, the SuperSlab
// maps and unmaps, the memory syscalls, the peak mapped bytes and the page
// faults that would follow. Knobs whose effect the trace cannot tell
// (MALLOC_MMAP_THRESHOLD_, HAKMEM_PURGE_DELAY_MS) get rows that say what
// the model would need instead of a guess.
//
// Contract: the Analysis owns one WhatIf, feeds it every allocator event and
// kernel record once, in time order (Timeline's output), on its thread, and
// calls finish() with the otherwise complete Report (for the recorded row's
// measured counts and the faults per mapping). Each model keeps O(1) state
// per process, except the large-block cache's, which holds what that cache
// would hold. Deterministic: the same trace and request give the same rows.
#pragma once

#include <hakmem/events.h>
#include <hakmem/syscall_record.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hk::analyze {

struct Report;

// The knobs, by the name `whatif` and its JSON use.
enum class Knob { lru_cap, large_cache, trim_threshold, mmap_threshold, purge_delay };
const char* knob_name(Knob k);
// The variable that sets it in the traced program's environment.
const char* knob_env(Knob k);

// What a run at one setting does (or did). Faults are empty when the trace
// has no page faults (no probe) or the model cannot scale them.
struct WhatIfCounts {
  uint64_t superslab_maps = 0, superslab_unmaps = 0;
  uint64_t large_maps = 0, large_unmaps = 0;
  uint64_t brk_calls = 0;
  uint64_t memory_syscalls = 0;
  uint64_t peak_mapped_bytes = 0;
  std::optional<uint64_t> faults;
};

struct WhatIfRow {
  WhatIfRow(Knob k, uint64_t v, bool rec = false) : knob(k), value(v), recorded(rec) {}
  Knob knob = Knob::lru_cap;
  uint64_t value = 0;
  bool recorded = false;  // the trace's own setting: counts measured, not predicted
  std::optional<WhatIfCounts> counts;  // empty: the model cannot say (see needs)
  std::string needs;  // what the trace would have to hold, when counts is empty
  std::string note;   // what the prediction assumes
};

// The settings to replay, per knob; an empty list leaves the knob out.
struct WhatIfRequest {
  std::vector<uint64_t> lru_caps, large_caches, trim_thresholds, mmap_thresholds, purge_delays_ms;
  // What the report's fixes quote: a spread of each knob's useful settings.
  static WhatIfRequest for_report();
};

// One model replaying the trace at one setting.
class WhatIfModel {
 public:
  virtual ~WhatIfModel() = default;
  virtual void on_event(uint32_t pid, const hk_event& ev) = 0;
  virtual void on_syscall(const hk_sys_record& rec) = 0;
  virtual WhatIfRow finish(const Report& recorded) = 0;
};

std::unique_ptr<WhatIfModel> make_lru_model(uint64_t cap);
std::unique_ptr<WhatIfModel> make_large_cache_model(uint64_t cap);
// follow_recording: the heap moves as recorded, whatever the threshold
// (the recorded row's kernel-side peak).
std::unique_ptr<WhatIfModel> make_trim_model(uint64_t threshold, bool follow_recording = false);

// A setting as the allocator reads it (config.cpp): a decimal number with
// an optional k/m/g suffix (binary). Empty on anything else.
std::optional<uint64_t> parse_setting(const std::string& text);

// The setting a trace was recorded with, or empty when it does not say.
std::optional<uint64_t> recorded_setting(Knob k, const Report& r);

class WhatIf {
 public:
  explicit WhatIf(WhatIfRequest request = WhatIfRequest::for_report());
  ~WhatIf();
  // The trace says whether the preload ran: the other allocator's models
  // have nothing to replay and are dropped (their rows say what they need).
  void set_preload(bool preload);
  void on_event(uint32_t pid, const hk_event& ev);
  void on_syscall(const hk_sys_record& rec);
  // Rows in request order, knob by knob, each knob's recorded row marked
  // (added when the request did not list the recorded value).
  std::vector<WhatIfRow> finish(const Report& recorded);

 private:
  WhatIfRequest request_;
  std::vector<std::pair<Knob, std::unique_ptr<WhatIfModel>>> models_;
  const WhatIfModel* follower_ = nullptr;  // the heap as recorded: the recorded row's kernel peak
};

// The row for `value` of knob k, if the rows hold a prediction for it.
const WhatIfRow* find_row(const std::vector<WhatIfRow>& rows, Knob k, uint64_t value);

}  // namespace hk::analyze
