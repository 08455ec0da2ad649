#include "analysis/allocator_metrics.h"

namespace hk::analyze {

double AllocatorMetrics::lru_hit_rate() const {
  const uint64_t hits = by_type[HK_EV_LRU_POP_HIT], misses = by_type[HK_EV_LRU_POP_MISS];
  if (hits + misses == 0) return -1.0;
  return static_cast<double>(hits) / static_cast<double>(hits + misses);
}

void AllocatorMetrics::remember(std::unordered_map<Key, uint64_t, KeyHash>& live, Key k,
                                uint64_t ts) {
  if (live.size() >= kMaxTracked && !live.count(k)) {
    ++untracked;
    return;
  }
  live[k] = ts;
}

void AllocatorMetrics::note_unmap(UnmapTimes& pending, Key size_key, uint64_t ts) {
  // Real runs use a handful of sizes; a hostile trace must not grow this.
  if (pending.size() >= kMaxTracked && !pending.count(size_key)) return;
  std::vector<uint64_t>& times = pending[size_key];
  if (times.size() >= kMaxPendingUnmaps) times.erase(times.begin(), times.begin() + kMaxPendingUnmaps / 2);
  times.push_back(ts);
}

void AllocatorMetrics::note_remap(UnmapTimes& pending, RemapStats& stats, Key size_key, uint64_t ts) {
  auto it = pending.find(size_key);
  if (it == pending.end() || it->second.empty()) return;
  const uint64_t unmapped = it->second.back();
  it->second.pop_back();
  if (ts < unmapped) return;
  const uint64_t gap = ts - unmapped;
  stats.interval.add(gap);
  if (gap < kRemapWindowNs) ++stats.within_window;
}

void AllocatorMetrics::os_event(uint32_t pid, const hk_event& ev) {
  ++os_calls_by_reason[ev.reason];
  const bool failed = static_cast<int64_t>(ev.a) < 0;
  if (failed) {
    ++os_failures;
    return;
  }
  if (mapped_by_pid_.size() >= kMaxTracked && !mapped_by_pid_.count(pid)) {
    ++untracked;
    return;
  }
  uint64_t& mine = mapped_by_pid_[pid];
  if (ev.type == HK_EV_OS_MMAP) {
    if (last_map_reason_.size() < kMaxTracked || last_map_reason_.count(ev.tid)) last_map_reason_[ev.tid] = ev.reason;
    mine += ev.len;
    mapped_bytes += ev.len;
    if (mapped_bytes > peak_mapped_bytes) peak_mapped_bytes = mapped_bytes;
  } else if (ev.type == HK_EV_OS_MUNMAP) {
    const uint64_t gone = ev.len < mine ? ev.len : mine;
    mine -= gone;
    mapped_bytes -= gone;
    if (ev.reason == HK_OS_ALIGN_TRIM) {
      auto it = last_map_reason_.find(ev.tid);
      ++align_trims_by_purpose[it == last_map_reason_.end() ? 0 : it->second];
    }
  }
}

void AllocatorMetrics::add(uint32_t pid, const hk_event& ev) {
  if (ev.type >= HK_EV_TYPE_COUNT) {
    ++unknown_types;
    return;
  }
  ++by_type[ev.type];
  switch (ev.type) {
    case HK_EV_CONFIG:
      config = {true, ev.addr, ev.len, ev.a, ev.b, ev.c};
      break;
    case HK_EV_OS_MMAP:
    case HK_EV_OS_MUNMAP:
    case HK_EV_OS_MADVISE:
      os_event(pid, ev);
      break;
    case HK_EV_SS_MAP:
      ++superslab_map_by_reason[ev.reason];
      note_remap(ss_unmaps_, superslab_remap, Key{pid, ev.len}, ev.ts_ns);
      remember(live_superslabs_, Key{pid, ev.addr}, ev.ts_ns);
      break;
    case HK_EV_SS_UNMAP: {
      ++superslab_unmap_by_reason[ev.reason];
      auto it = live_superslabs_.find(Key{pid, ev.addr});
      if (it != live_superslabs_.end()) {
        if (ev.ts_ns >= it->second) superslab_lifetime.add(ev.ts_ns - it->second);
        live_superslabs_.erase(it);
      }
      note_unmap(ss_unmaps_, Key{pid, ev.len}, ev.ts_ns);
      break;
    }
    case HK_EV_REMOTE_FREE_BATCH:
      if (ev.reason == HK_REMOTE_SUMMED && ev.len > 1) by_type[HK_EV_REMOTE_FREE_BATCH] += ev.len - 1;
      break;
    case HK_EV_LARGE_REUSE:
      if (ev.c > 1) by_type[HK_EV_LARGE_REUSE] += ev.c - 1;
      break;
    case HK_EV_SLAB_RELEASE:
      if (ev.reason == HK_SLAB_RELEASE_EMPTIED) ++by_type[HK_EV_SLAB_EMPTY];
      break;
    case HK_EV_DRAIN: {
      // One record may stand for several drains of its reason (addr = how
      // many; 0 from version-1 writers, meaning one).
      const uint64_t drains = ev.addr > 1 ? ev.addr : 1;
      by_type[HK_EV_DRAIN] += drains - 1;
      drained_blocks += ev.a;
      drain_emptied_slabs += ev.b;
      drain_by_reason[ev.reason] += drains;
      break;
    }
    case HK_EV_LARGE_MAP:
      large_bytes_mapped += ev.len;
      note_remap(large_unmaps_, large_remap, Key{pid, ev.len}, ev.ts_ns);
      break;
    case HK_EV_LARGE_UNMAP:
      note_unmap(large_unmaps_, Key{pid, ev.len}, ev.ts_ns);
      break;
    case HK_EV_ATTACH:
      // The ring was switched on mid-run: what was mapped before is not in
      // the trace as OS events, and its unmaps must not count it twice.
      if (mapped_by_pid_.size() < kMaxTracked || mapped_by_pid_.count(pid)) {
        mapped_by_pid_[pid] += ev.len;
        mapped_bytes += ev.len;
        if (mapped_bytes > peak_mapped_bytes) peak_mapped_bytes = mapped_bytes;
      } else {
        ++untracked;
      }
      break;
    default:
      break;
  }
}

void AllocatorMetrics::process_gone(uint32_t pid) {
  std::erase_if(live_superslabs_, [pid](const auto& kv) { return kv.first.pid == pid; });
  std::erase_if(ss_unmaps_, [pid](const auto& kv) { return kv.first.pid == pid; });
  std::erase_if(large_unmaps_, [pid](const auto& kv) { return kv.first.pid == pid; });
  auto it = mapped_by_pid_.find(pid);
  if (it != mapped_by_pid_.end()) {
    mapped_bytes -= it->second;
    mapped_by_pid_.erase(it);
  }
}

}  // namespace hk::analyze
