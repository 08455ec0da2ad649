// The large-block cache at another byte cap (HAKMEM_LARGE_CACHE_CAP), held
// fixed (HAKMEM_LARGE_CACHE_ADAPTIVE=0): the adaptive cache's limit follows
// the program's live large bytes and extends cached ranges in place, which
// this model does not replay; each row's note says so.
//
// The cache's outcome depends on every large malloc and free, with sizes,
// in order. The trace logs mappings, unmaps and (summed) reuses of cached
// ones, so it holds that whole stream only when nothing was ever cached:
// no reuse, and every mapping bigger than the recorded cap (so each free
// unmapped it at once: HAKMEM_LARGE_CACHE_CAP=0, or blocks above the cap).
// Then each LARGE_MAP is a malloc of its mapping's length and each
// LARGE_UNMAP of it the free, and the model runs them through a copy of
// large_alloc.cpp's policy: best fit, a mapping handed whole when at most a
// quarter above the request's class and split otherwise (the tail cached),
// freed ranges merged with cached neighbours, the oldest evicted past the
// cap, and a new mapping first evicting what would take the footprint past
// the peak of live large bytes. New mappings are placed top-down, first fit
// below the lowest address in use, as the kernel does, so that ranges the
// real cache would merge sit side by side here too; other mappings of the
// process (SuperSlabs, libraries) are not modelled and could sit between.
// Any other trace gets a row that says what it would need.
#include "analysis/report.h"
#include "analysis/whatif.h"
#include "analysis/whatif_replay.h"

#include <map>
#include <unordered_map>
#include <vector>

namespace hk::analyze {
namespace {

constexpr uint64_t kCacheSlots = 1024;      // large_alloc.cpp's kCacheSlots
constexpr uint64_t kTop = uint64_t(0x7f00) << 32;  // where the model's mappings start

struct Range {
  uint64_t base = 0, len = 0;
};

// One process's large blocks under the model's cap.
class LargeCache {
 public:
  LargeCache(uint64_t cap, OsReplay& os, uint64_t& maps, uint64_t& unmaps)
      : cap_(cap), os_(os), maps_(maps), unmaps_(unmaps) {}

  // A malloc that mapped need bytes when recorded; returns the block.
  Range alloc(uint64_t need) {
    size_t best = cache_.size();
    for (size_t i = 0; i < cache_.size(); ++i) {
      const uint64_t len = cache_[i].len;
      if (len >= need && (best == cache_.size() || len < cache_[best].len)) {
        best = i;
        if (len == need) break;
      }
    }
    Range got;
    if (best == cache_.size()) {
      const uint64_t peak = std::max(live_ + need, peak_live_);
      while (!cache_.empty() && live_ + cache_bytes_ + need > peak) evict_oldest();
      got = map(need);
    } else {
      got = cache_[best];
      remove(best);
      if (got.len - need > need / 4) cut_tail(got, need);
    }
    live_ += got.len;
    peak_live_ = std::max(peak_live_, live_);
    return got;
  }

  void free(Range b) {
    live_ -= b.len;
    if (b.len > cap_) unmap(b);
    else insert(b);
  }

 private:
  Range map(uint64_t len) {
    // Top-down first fit: the highest gap that holds len, below kTop.
    uint64_t end = kTop;
    for (auto it = used_.rbegin(); it != used_.rend(); ++it) {
      if (it->first + it->second + len <= end) break;
      end = it->first;
    }
    const Range r{end - len, len};
    used_[r.base] = r.len;
    ++maps_;
    os_.model_bytes(int64_t(len));
    return r;
  }
  // One munmap of r, which may span several mapped ranges (merged pieces).
  void unmap(Range r) {
    auto it = used_.upper_bound(r.base);
    if (it != used_.begin()) --it;
    while (it != used_.end() && it->first < r.base + r.len) {
      const uint64_t b = it->first, e = it->first + it->second;
      it = used_.erase(it);
      if (b < r.base) used_[b] = r.base - b;
      if (e > r.base + r.len) used_[r.base + r.len] = e - (r.base + r.len);
    }
    ++unmaps_;
    os_.model_bytes(-int64_t(r.len));
  }
  void remove(size_t i) {
    cache_bytes_ -= cache_[i].len;
    cache_.erase(cache_.begin() + ptrdiff_t(i));
  }
  void evict_oldest() {
    const Range victim = cache_.front();
    remove(0);
    unmap(victim);
  }
  void insert(Range c) {
    for (size_t i = 0; i < cache_.size();) {
      const Range e = cache_[i];
      if (e.base + e.len != c.base && c.base + c.len != e.base) {
        ++i;
        continue;
      }
      c = Range{std::min(e.base, c.base), e.len + c.len};
      remove(i);
      i = 0;
    }
    if (c.len > cap_) {
      unmap(c);
      return;
    }
    while (cache_.size() == kCacheSlots || cache_bytes_ + c.len > cap_) evict_oldest();
    cache_.push_back(c);
    cache_bytes_ += c.len;
  }
  void cut_tail(Range& c, uint64_t len) {
    const Range tail{c.base + len, c.len - len};
    c.len = len;
    if (tail.len <= cap_) insert(tail);
    else unmap(tail);
  }

  uint64_t cap_;
  OsReplay& os_;
  uint64_t& maps_;
  uint64_t& unmaps_;
  std::vector<Range> cache_;  // oldest first
  uint64_t cache_bytes_ = 0, live_ = 0, peak_live_ = 0;
  std::map<uint64_t, uint64_t> used_;  // base -> len of what the model has mapped
};

class LargeCacheModel final : public WhatIfModel {
 public:
  explicit LargeCacheModel(uint64_t cap) : cap_(cap), os_(HK_OS_LARGE) {}

  void on_event(uint32_t pid, const hk_event& ev) override {
    os_.on_event(ev);
    if (!usable_) return;
    switch (ev.type) {
      case HK_EV_LARGE_MAP: {
        min_map_ = std::min(min_map_, ev.len);
        Process& p = process(pid);
        p.live[ev.addr] = Live{p.cache.alloc(ev.len), ev.len};
        break;
      }
      case HK_EV_LARGE_UNMAP: {
        Process& p = process(pid);
        auto it = p.live.find(ev.addr);
        if (it == p.live.end() || it->second.recorded_len != ev.len) {
          stop("a large unmap of something no malloc had whole (a shrinking realloc's tail, or an eviction)");
          return;
        }
        p.cache.free(it->second.block);
        p.live.erase(it);
        break;
      }
      case HK_EV_LARGE_REUSE:
        stop("the recorded cache reused mappings");
        break;
      default:
        break;
    }
  }
  void on_syscall(const hk_sys_record&) override {}

  WhatIfRow finish(const Report& r) override {
    WhatIfRow row(Knob::large_cache, cap_);
    const uint64_t recorded_cap = recorded_setting(Knob::large_cache, r).value_or(0);
    if (usable_ && r.allocator.count(HK_EV_LARGE_MAP) > 0 && min_map_ <= recorded_cap)
      stop("a mapping the recorded cap could have cached when freed, unlogged");
    if (!usable_) {
      row.needs = "every large malloc and free with its size, in order; the trace has them only when the "
                  "recorded cache kept nothing (" + why_ + "): record with HAKMEM_LARGE_CACHE_CAP=0";
      return row;
    }
    WhatIfCounts c;
    c.superslab_maps = r.allocator.count(HK_EV_SS_MAP);
    c.superslab_unmaps = r.allocator.count(HK_EV_SS_UNMAP);
    c.large_maps = maps_;
    c.large_unmaps = unmaps_;
    c.memory_syscalls = os_.other_calls() + maps_ + unmaps_;
    c.peak_mapped_bytes = os_.peak();
    c.faults = scaled_faults(r, r.faults.by_target(FaultTarget::large).faults,
                             r.allocator.count(HK_EV_LARGE_MAP), maps_);
    row.counts = c;
    row.note = "a fixed cap (HAKMEM_LARGE_CACHE_ADAPTIVE=0); mappings placed side by side; purges as recorded";
    return row;
  }

 private:
  struct Live {
    Range block;  // the model's
    uint64_t recorded_len;
  };
  struct Process {
    explicit Process(LargeCache c) : cache(std::move(c)) {}
    LargeCache cache;
    std::unordered_map<uint64_t, Live> live;  // by recorded base
  };
  Process& process(uint32_t pid) {
    auto it = procs_.find(pid);
    if (it == procs_.end()) it = procs_.emplace(pid, Process(LargeCache(cap_, os_, maps_, unmaps_))).first;
    return it->second;
  }
  void stop(std::string why) {
    usable_ = false;
    why_ = std::move(why);
    procs_.clear();
  }

  uint64_t cap_;
  OsReplay os_;
  uint64_t maps_ = 0, unmaps_ = 0;
  uint64_t min_map_ = UINT64_MAX;
  bool usable_ = true;
  std::string why_;
  std::unordered_map<uint32_t, Process> procs_;
};

}  // namespace

std::unique_ptr<WhatIfModel> make_large_cache_model(uint64_t cap) {
  return std::make_unique<LargeCacheModel>(cap);
}

}  // namespace hk::analyze
