// The SuperSlab LRU at another capacity (HAKMEM_SS_LRU_CAP).
//
// What the trace holds is cap-independent: each time the pool needed a
// SuperSlab (an LRU pop, hit or miss) and each time one emptied (an LRU push,
// or an unmap because the cap was 0). An empty SuperSlab is as good as a new
// one, so the needs and frees happen in the same order whatever the cap; only
// whether a need maps and a free unmaps changes. The model runs them through
// an LRU of the new capacity (lru_cache.cpp: a push into a full cache evicts
// one, malloc_trim unmaps every cached one). Syscalls per map are the
// recorded ones' average (one with the address hint, three when the map
// must be trimmed to alignment); other OS calls, purges included, stay as
// recorded: a SuperSlab that sits cached longer may be purged where the
// recorded one was not, which the note says.
#include "analysis/report.h"
#include "analysis/whatif.h"
#include "analysis/whatif_replay.h"

#include <algorithm>
#include <unordered_map>

namespace hk::analyze {
namespace {

class LruModel final : public WhatIfModel {
 public:
  explicit LruModel(uint64_t cap) : cap_(cap), os_(HK_OS_SUPERSLAB) {}

  void on_event(uint32_t pid, const hk_event& ev) override {
    os_.on_event(ev);
    if (ev.type == HK_EV_OS_MMAP && ev.reason == HK_OS_SUPERSLAB) {
      ++recorded_map_calls_;
      if (ev.len > ss_bytes_) ++recorded_unhinted_;
    }
    if (ev.type == HK_EV_OS_MUNMAP && ev.reason == HK_OS_ALIGN_TRIM && last_os_was_ss_) ++recorded_map_calls_;
    if (ev.type == HK_EV_OS_MMAP) last_os_was_ss_ = ev.reason == HK_OS_SUPERSLAB;
    switch (ev.type) {
      case HK_EV_CONFIG:
        ss_bytes_ = ev.b ? ev.b : ss_bytes_;
        break;
      case HK_EV_SS_MAP:
        ++recorded_maps_;
        break;
      case HK_EV_LRU_POP_HIT:
      case HK_EV_LRU_POP_MISS:
        need(proc(pid));
        break;
      case HK_EV_LRU_PUSH:
        release(proc(pid));
        break;
      case HK_EV_SS_UNMAP:
        if (ev.reason == HK_SS_LRU_OFF || ev.reason == HK_SS_LRU_FULL) release(proc(pid));
        else if (ev.reason == HK_SS_TRIM) trim(proc(pid));
        break;  // HK_SS_EVICT: the recorded cap's doing, the model has its own
      case HK_EV_FORK:
        // The child's ring opens with FORK: it inherits the parent's
        // SuperSlabs, which its events do not say; it starts empty here.
        break;
      default:
        break;
    }
  }
  void on_syscall(const hk_sys_record&) override {}

  WhatIfRow finish(const Report& r) override {
    WhatIfRow row(Knob::lru_cap, cap_);
    WhatIfCounts c;
    c.superslab_maps = maps_;
    c.superslab_unmaps = unmaps_;
    // The first map of a process has no hint, so maps cost at least one call.
    const double per_map = recorded_maps_ ? double(recorded_map_calls_) / double(recorded_maps_) : 1.0;
    c.memory_syscalls = os_.other_calls() + uint64_t(per_map * double(maps_) + 0.5) + unmaps_;
    c.peak_mapped_bytes = os_.peak();
    c.large_maps = r.allocator.count(HK_EV_LARGE_MAP);
    c.large_unmaps = r.allocator.count(HK_EV_LARGE_UNMAP);
    c.faults = scaled_faults(r, r.faults.by_target(FaultTarget::superslab).faults, recorded_maps_, maps_);
    row.counts = c;
    if (cached_peak_ > recorded_cached_peak(r))
      row.note = "purges as recorded: SuperSlabs cached longer than the recorded ones may be purged too";
    return row;
  }

 private:
  struct Process {
    uint64_t live = 0, cached = 0;
    bool mapped_once = false;
  };

  // Elements of an unordered_map stay put, so the last one found is kept.
  Process& proc(uint32_t pid) {
    if (!last_ || pid != last_pid_) last_ = &procs_[pid], last_pid_ = pid;
    return *last_;
  }
  void need(Process& p) {
    ++p.live;
    if (p.cached) {
      --p.cached;
      return;
    }
    ++maps_;
    // A map without the hint (each process's first, and later ones as often
    // as the recorded ones missed it) maps twice the size before the trim.
    const bool first = !p.mapped_once;
    p.mapped_once = true;
    os_.model_bytes(int64_t(ss_bytes_));
    if (first || 2 * (recorded_unhinted_ - std::min(recorded_unhinted_, processes_mapping())) >
                     recorded_maps_ - std::min(recorded_maps_, processes_mapping()))
      os_.transient(ss_bytes_);
  }
  uint64_t processes_mapping() const {
    uint64_t n = 0;
    for (const auto& [pid, p] : procs_) n += p.mapped_once;
    return n;
  }
  void release(Process& p) {
    if (p.live) --p.live;
    if (cap_ == 0 || p.cached >= cap_) {
      ++unmaps_;  // unmapped at once, or one older cached SuperSlab evicted
      os_.model_bytes(-int64_t(ss_bytes_));
      return;
    }
    ++p.cached;
    if (p.cached > cached_peak_) cached_peak_ = p.cached;
  }
  void trim(Process& p) {
    unmaps_ += p.cached;
    os_.model_bytes(-int64_t(p.cached * ss_bytes_));
    p.cached = 0;
  }
  static uint64_t recorded_cached_peak(const Report& r) { return r.allocator.config.lru_capacity; }

  uint64_t cap_;
  OsReplay os_;
  uint64_t ss_bytes_ = 2u << 20;
  uint64_t maps_ = 0, unmaps_ = 0, cached_peak_ = 0;
  uint64_t recorded_maps_ = 0, recorded_map_calls_ = 0, recorded_unhinted_ = 0;
  bool last_os_was_ss_ = false;
  std::unordered_map<uint32_t, Process> procs_;
  Process* last_ = nullptr;
  uint32_t last_pid_ = 0;
};

}  // namespace

std::unique_ptr<WhatIfModel> make_lru_model(uint64_t cap) { return std::make_unique<LruModel>(cap); }

}  // namespace hk::analyze
