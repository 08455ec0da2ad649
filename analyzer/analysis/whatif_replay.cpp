#include "analysis/whatif_replay.h"

#include "analysis/report.h"

namespace hk::analyze {

void OsReplay::on_event(const hk_event& ev) {
  if (ev.type == HK_EV_ATTACH) {
    // An attached trace starts mid-run: what the allocator had mapped by
    // then stays mapped in every row (no model replays its history).
    other_bytes_ += int64_t(ev.len);
    note_peak();
    return;
  }
  if (ev.type != HK_EV_OS_MMAP && ev.type != HK_EV_OS_MUNMAP && ev.type != HK_EV_OS_MADVISE) return;
  uint8_t purpose = ev.reason;
  if (ev.reason == HK_OS_ALIGN_TRIM) {
    if (ev.tid == last_tid_) {
      purpose = last_reason_;
    } else {
      auto it = last_map_reason_.find(ev.tid);
      purpose = it == last_map_reason_.end() ? 0 : it->second;
    }
  } else if (ev.type == HK_EV_OS_MMAP) {
    // One thread maps most of the time: its reason is kept at hand, the
    // others' in the map.
    if (ev.tid != last_tid_ && last_tid_ && last_map_reason_.size() < AllocatorMetrics::kMaxTracked)
      last_map_reason_[last_tid_] = last_reason_;
    last_tid_ = ev.tid;
    last_reason_ = ev.reason;
    if (!last_map_reason_.empty()) last_map_reason_.erase(ev.tid);
  }
  if (purpose == owned_) return;
  ++other_calls_;
  if (static_cast<int64_t>(ev.a) < 0) return;  // failed: nothing changed
  if (ev.type == HK_EV_OS_MMAP) other_bytes_ += int64_t(ev.len);
  else if (ev.type == HK_EV_OS_MUNMAP) other_bytes_ -= int64_t(ev.len);
  note_peak();
}

void OsReplay::model_bytes(int64_t delta) {
  model_bytes_ += delta;
  note_peak();
}

void OsReplay::transient(uint64_t extra) {
  model_bytes_ += int64_t(extra);
  note_peak();
  model_bytes_ -= int64_t(extra);
}

void OsReplay::note_peak() {
  const int64_t now = other_bytes_ + model_bytes_;
  if (now > 0 && uint64_t(now) > peak_) peak_ = uint64_t(now);
}

std::optional<uint64_t> scaled_faults(const Report& r, uint64_t model_faults, uint64_t recorded_maps,
                                      uint64_t maps) {
  if (!r.trace.has_kernel || r.trace.meta.count("bpf.faults") == 0 || r.trace.meta.at("bpf.faults") != "1")
    return std::nullopt;
  const uint64_t total = r.faults.total().faults;
  if (maps == recorded_maps) return total;
  if (recorded_maps == 0) return std::nullopt;
  const double per_map = double(model_faults) / double(recorded_maps);
  return total - model_faults + uint64_t(per_map * double(maps) + 0.5);
}

}  // namespace hk::analyze
