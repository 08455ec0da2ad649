#include "analysis/whatif.h"

#include "analysis/report.h"

#include <fmt/format.h>

#include <algorithm>

namespace hk::analyze {
namespace {
constexpr uint64_t kMiB = 1u << 20;
}  // namespace

std::optional<uint64_t> parse_setting(const std::string& v) {
  uint64_t n = 0;
  size_t i = 0;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) n = n * 10 + uint64_t(v[i] - '0');
  if (i == 0) return std::nullopt;
  if (i < v.size()) {
    const char c = char(v[i] | 0x20);
    if (c == 'k') n <<= 10;
    else if (c == 'm') n <<= 20;
    else if (c == 'g') n <<= 30;
    else return std::nullopt;
    ++i;
  }
  return i == v.size() ? std::optional(n) : std::nullopt;
}

namespace {

std::optional<uint64_t> meta_env(const Report& r, Knob k) {
  auto it = r.trace.meta.find(std::string("env.") + knob_env(k));
  return it == r.trace.meta.end() ? std::nullopt : parse_setting(it->second);
}

bool preload_knob(Knob k) { return k == Knob::lru_cap || k == Knob::large_cache || k == Knob::purge_delay; }

bool faults_recorded(const Report& r) {
  auto it = r.trace.meta.find("bpf.faults");
  return r.trace.has_kernel && it != r.trace.meta.end() && it->second == "1";
}

// What the recorded run did, by the same measures the models predict.
WhatIfCounts measured(const Report& r, Knob k) {
  WhatIfCounts c;
  if (preload_knob(k)) {
    c.superslab_maps = r.allocator.count(HK_EV_SS_MAP);
    c.superslab_unmaps = r.allocator.count(HK_EV_SS_UNMAP);
    c.large_maps = r.allocator.count(HK_EV_LARGE_MAP);
    c.large_unmaps = r.allocator.count(HK_EV_LARGE_UNMAP);
    for (const auto& [reason, n] : r.allocator.os_calls_by_reason) c.memory_syscalls += n;
    c.peak_mapped_bytes = r.allocator.peak_mapped_bytes;
  } else {
    auto brk = r.syscalls.rows().find(HK_NR_BRK);
    c.brk_calls = brk == r.syscalls.rows().end() ? 0 : brk->second.count;
    c.memory_syscalls = r.syscalls.total_calls();
  }
  if (faults_recorded(r)) c.faults = r.faults.total().faults;
  return c;
}

const std::vector<uint64_t>& values(const WhatIfRequest& q, Knob k) {
  switch (k) {
    case Knob::lru_cap: return q.lru_caps;
    case Knob::large_cache: return q.large_caches;
    case Knob::trim_threshold: return q.trim_thresholds;
    case Knob::mmap_threshold: return q.mmap_thresholds;
    case Knob::purge_delay: return q.purge_delays_ms;
  }
  return q.lru_caps;
}

constexpr Knob kKnobs[] = {Knob::lru_cap, Knob::large_cache, Knob::purge_delay, Knob::trim_threshold,
                           Knob::mmap_threshold};

// The knobs no model here can replay from a trace: what each would need.
std::string unmodelled_needs(Knob k, uint64_t value, std::optional<uint64_t> recorded) {
  if (k == Knob::mmap_threshold)
    return recorded && value > *recorded
               ? "which of the recorded mmaps were malloc's chunks, and where those requests would sit in the "
                 "brk heap among the mallocs below the threshold, which a --no-preload trace does not hold"
               : "the malloc sizes below the recorded threshold and their order: a --no-preload trace has only "
                 "the syscalls, so what a lower threshold would map cannot be told";
  return "when each cached SuperSlab, free slab and large mapping was reused (the trace sums large reuses, "
         "and logs no purge pass that found nothing to purge)";
}

}  // namespace

const char* knob_name(Knob k) {
  switch (k) {
    case Knob::lru_cap: return "lru_cap";
    case Knob::large_cache: return "large_cache";
    case Knob::trim_threshold: return "trim_threshold";
    case Knob::mmap_threshold: return "mmap_threshold";
    case Knob::purge_delay: return "purge_delay";
  }
  return "?";
}

const char* knob_env(Knob k) {
  switch (k) {
    case Knob::lru_cap: return "HAKMEM_SS_LRU_CAP";
    case Knob::large_cache: return "HAKMEM_LARGE_CACHE_CAP";
    case Knob::trim_threshold: return "MALLOC_TRIM_THRESHOLD_";
    case Knob::mmap_threshold: return "MALLOC_MMAP_THRESHOLD_";
    case Knob::purge_delay: return "HAKMEM_PURGE_DELAY_MS";
  }
  return "?";
}

WhatIfRequest WhatIfRequest::for_report() {
  WhatIfRequest q;
  q.lru_caps = {0, 4, 16, 32, 64, 256, 1024};
  q.large_caches = {0, 64 * kMiB, 128 * kMiB, 256 * kMiB, 1024 * kMiB};
  q.trim_thresholds = {128u << 10, 256u << 10, 512u << 10, 1 * kMiB, 4 * kMiB, 16 * kMiB, 64 * kMiB, 256 * kMiB};
  q.purge_delays_ms = {0};  // no model: the row says what a prediction would need
  return q;
}

std::optional<uint64_t> recorded_setting(Knob k, const Report& r) {
  if (preload_knob(k) != r.trace.has_allocator) return std::nullopt;
  if (auto v = meta_env(r, k)) return v;
  switch (k) {
    case Knob::lru_cap:
      return r.allocator.config.seen ? std::optional(r.allocator.config.lru_capacity) : std::nullopt;
    case Knob::large_cache: return 64 * kMiB;         // config.h's default
    case Knob::purge_delay: return 250;               // config.h's default
    case Knob::trim_threshold:
    case Knob::mmap_threshold: return 128u << 10;     // glibc's (dynamic) start
  }
  return std::nullopt;
}

WhatIf::WhatIf(WhatIfRequest request) : request_(std::move(request)) {
  for (uint64_t v : request_.lru_caps) models_.emplace_back(Knob::lru_cap, make_lru_model(v));
  for (uint64_t v : request_.large_caches) models_.emplace_back(Knob::large_cache, make_large_cache_model(v));
  for (uint64_t v : request_.trim_thresholds) models_.emplace_back(Knob::trim_threshold, make_trim_model(v));
  if (!request_.trim_thresholds.empty()) {
    models_.emplace_back(Knob::trim_threshold, make_trim_model(0, true));
    follower_ = models_.back().second.get();
  }
}

WhatIf::~WhatIf() = default;

void WhatIf::set_preload(bool preload) {
  std::erase_if(models_, [preload](const auto& m) { return preload_knob(m.first) != preload; });
}

void WhatIf::on_event(uint32_t pid, const hk_event& ev) {
  // Slab, drain and snapshot events, most of a trace, change no model.
  switch (ev.type) {
    case HK_EV_CONFIG: case HK_EV_OS_MMAP: case HK_EV_OS_MUNMAP: case HK_EV_OS_MADVISE: case HK_EV_SS_MAP:
    case HK_EV_SS_UNMAP: case HK_EV_LRU_PUSH: case HK_EV_LRU_POP_HIT: case HK_EV_LRU_POP_MISS:
    case HK_EV_LRU_EVICT: case HK_EV_LARGE_MAP: case HK_EV_LARGE_UNMAP: case HK_EV_LARGE_REUSE: case HK_EV_ATTACH:
      break;
    default:
      return;
  }
  for (auto& [k, m] : models_)
    if (k != Knob::trim_threshold) m->on_event(pid, ev);  // the glibc model reads syscalls only
}

void WhatIf::on_syscall(const hk_sys_record& rec) {
  if (rec.kind == HK_SYS_FAULTS || rec.kind == HK_SYS_RSS) return;  // no model reads them
  for (auto& [k, m] : models_)
    if (k == Knob::trim_threshold) m->on_syscall(rec);  // the hakmem models read their events only
}

std::vector<WhatIfRow> WhatIf::finish(const Report& r) {
  std::vector<WhatIfRow> predicted;
  std::optional<uint64_t> kernel_peak;
  for (size_t i = 0; i < models_.size(); ++i) {
    WhatIfRow row = models_[i].second->finish(r);
    const bool follower = models_[i].second.get() == follower_;
    if (follower) kernel_peak = row.counts ? std::optional(row.counts->peak_mapped_bytes) : std::nullopt;
    else predicted.push_back(std::move(row));
  }
  std::vector<WhatIfRow> rows;
  for (Knob k : kKnobs) {
    const std::vector<uint64_t>& vs = values(request_, k);
    if (vs.empty()) continue;
    const std::optional<uint64_t> rec = recorded_setting(k, r);
    std::vector<WhatIfRow> mine;
    if (preload_knob(k) != r.trace.has_allocator || (!preload_knob(k) && !r.trace.has_kernel)) {
      for (uint64_t v : vs)
        mine.emplace_back(k, v).needs = preload_knob(k)
                                            ? "a trace with the preload's events (recorded without --no-preload)"
                                            : "a --no-preload trace with the kernel's syscalls (glibc's malloc)";
      rows.insert(rows.end(), mine.begin(), mine.end());
      continue;
    }
    for (WhatIfRow& p : predicted)
      if (p.knob == k) mine.push_back(std::move(p));
    if (mine.empty())
      for (uint64_t v : vs) mine.emplace_back(k, v).needs = unmodelled_needs(k, v, rec);
    if (rec) {
      WhatIfRow m(k, *rec, true);
      m.counts = measured(r, k);
      if (!preload_knob(k) && kernel_peak) m.counts->peak_mapped_bytes = *kernel_peak;
      auto same = std::find_if(mine.begin(), mine.end(), [&](const WhatIfRow& x) { return x.value == *rec; });
      if (same != mine.end()) *same = std::move(m);
      else mine.push_back(std::move(m));
    }
    std::stable_sort(mine.begin(), mine.end(), [](const WhatIfRow& a, const WhatIfRow& b) { return a.value < b.value; });
    rows.insert(rows.end(), std::make_move_iterator(mine.begin()), std::make_move_iterator(mine.end()));
  }
  return rows;
}

const WhatIfRow* find_row(const std::vector<WhatIfRow>& rows, Knob k, uint64_t value) {
  for (const WhatIfRow& r : rows)
    if (r.knob == k && r.value == value && r.counts) return &r;
  return nullptr;
}

}  // namespace hk::analyze
