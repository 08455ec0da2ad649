// Allocator metrics: what the allocator's own events say about SuperSlabs,
// the LRU cache, slabs, drains, large blocks and its mapped bytes.
//
// Contract: the analysis feeds every allocator event once, in time order,
// on one thread. Counters are exact. Per-object state (live SuperSlabs,
// live large mappings, mapped bytes per process) is bounded by what the
// traced processes have mapped at one time, never by the trace's length,
// and is capped at kMaxTracked objects beyond which lifetimes go uncounted
// (untracked() says how many).
#pragma once

#include "analysis/duration_stats.h"

#include <hakmem/events.h>

#include <array>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

namespace hk::analyze {

// The allocator's configuration as its HK_EV_CONFIG event logged it.
struct AllocatorConfig {
  bool seen = false;
  uint64_t drain_interval = 0;
  uint64_t lru_capacity = 0;
  uint64_t sll_capacity = 0;
  uint64_t superslab_bytes = 0;
  uint64_t slab_bytes = 0;
};

// Unmap followed by a fresh map of the same size: how soon, how often.
// Each map is paired with the most recent unpaired unmap of its size (so a
// burst of unmaps followed by a burst of maps pairs one to one).
struct RemapStats {
  DurationStats interval;        // unmap -> next map of the same size
  uint64_t within_window = 0;    // intervals under kRemapWindowNs
};

struct AllocatorMetrics {
  // A remap inside this window means the memory was needed again almost at
  // once: the unmap bought nothing and cost two syscalls. 100 ms is far
  // above a syscall's cost and far below any deliberate release policy.
  static constexpr uint64_t kRemapWindowNs = 100'000'000;
  static constexpr size_t kMaxTracked = 1u << 20;
  // Unpaired unmaps remembered per size; older ones are forgotten (a map
  // that long after an unmap is not churn anyway).
  static constexpr size_t kMaxPendingUnmaps = 4096;

  AllocatorConfig config;
  std::array<uint64_t, HK_EV_TYPE_COUNT> by_type{};
  uint64_t unknown_types = 0;

  std::map<uint8_t, uint64_t> superslab_map_by_reason;
  std::map<uint8_t, uint64_t> superslab_unmap_by_reason;
  DurationStats superslab_lifetime;  // map -> unmap of one SuperSlab
  RemapStats superslab_remap;

  uint64_t drained_blocks = 0;
  uint64_t drain_emptied_slabs = 0;
  std::map<uint8_t, uint64_t> drain_by_reason;

  RemapStats large_remap;
  uint64_t large_bytes_mapped = 0;

  // HK_EV_OS_* by reason, and the alignment trims split by what was being
  // mapped when the trim happened (the thread's previous OS map reason).
  std::map<uint8_t, uint64_t> os_calls_by_reason;
  std::map<uint8_t, uint64_t> align_trims_by_purpose;
  uint64_t os_failures = 0;

  uint64_t mapped_bytes = 0;       // now, all processes
  uint64_t peak_mapped_bytes = 0;  // high-water mark of mapped_bytes
  uint64_t untracked = 0;

  void add(uint32_t pid, const hk_event& ev);
  uint64_t count(hk_event_type t) const { return by_type[t]; }
  // LRU pop hits over pops; negative when nothing was ever popped.
  double lru_hit_rate() const;
  // Bytes mapped by the allocator of one process now.
  uint64_t mapped_bytes_of(uint32_t pid) const {
    auto it = mapped_by_pid_.find(pid);
    return it == mapped_by_pid_.end() ? 0 : it->second;
  }
  // A process is gone: forget its live objects (their memory went with it).
  void process_gone(uint32_t pid);

 private:
  struct Key {
    uint32_t pid;
    uint64_t addr;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.addr ^ (uint64_t{k.pid} << 48)); }
  };
  void remember(std::unordered_map<Key, uint64_t, KeyHash>& live, Key k, uint64_t ts);
  using UnmapTimes = std::unordered_map<Key, std::vector<uint64_t>, KeyHash>;
  static void note_unmap(UnmapTimes& pending, Key size_key, uint64_t ts);
  static void note_remap(UnmapTimes& pending, RemapStats& stats, Key size_key, uint64_t ts);
  void os_event(uint32_t pid, const hk_event& ev);

  std::unordered_map<Key, uint64_t, KeyHash> live_superslabs_;  // -> map time
  UnmapTimes ss_unmaps_;     // (pid, size) -> unpaired unmap times
  UnmapTimes large_unmaps_;  // (pid, len) -> unpaired unmap times
  std::unordered_map<uint32_t, uint8_t> last_map_reason_;       // tid -> reason
  std::unordered_map<uint32_t, uint64_t> mapped_by_pid_;
};

}  // namespace hk::analyze
