#include "analysis/retention.h"

#include <algorithm>

namespace hk::analyze {

void Retention::add(uint32_t pid, const hk_event& ev, const AllocatorMetrics& a) {
  Process& p = procs_[pid];
  p.last_ts = ev.ts_ns;
  p.peak_mapped = std::max(p.peak_mapped, a.mapped_bytes_of(pid));
  if (ev.type != HK_EV_SNAPSHOT) return;
  // Other threads' events may come between a set's snapshots: a set ends
  // where the class numbers stop rising, or after a pause.
  if (p.in_set && (ev.cls <= p.last_class || ev.ts_ns - p.set.ts_ns > kSetSpanNs)) close_set(pid, p, a);
  if (!p.in_set) {
    p.set = Holding{};
    p.set.ts_ns = ev.ts_ns;
    p.set.mapped = a.mapped_bytes_of(pid);
    p.in_set = true;
  }
  p.last_class = ev.cls;
  // A snapshot's len = block size, a = used, b = parked; live = used - parked.
  const uint64_t parked = std::min(ev.b, ev.a);
  p.set.used += ev.len * ev.a;
  p.set.parked += ev.len * parked;
  p.set.live += ev.len * (ev.a - parked);
}

void Retention::close_set(uint32_t pid, Process& p, const AllocatorMetrics& a) {
  p.in_set = false;
  Holding& h = p.set;
  const uint64_t pushes = a.count(HK_EV_LRU_PUSH), out = a.count(HK_EV_LRU_POP_HIT) + a.count(HK_EV_LRU_EVICT);
  h.lru_superslabs = pushes > out ? pushes - out : 0;
  if (h.live > p.peak_live) {
    // A new peak: memory is wanted again, whatever was kept is being used.
    if (p.retaining) end_phase(pid, p, h.ts_ns);
    p.peak_live = h.live;
  }
  const bool holds = double(h.live) <= kMaxLiveShare * double(p.peak_live) &&
                     double(h.mapped) >= kMinMappedShare * double(p.peak_mapped) && p.peak_live > 0;
  if (holds && !p.retaining) p.retaining = true, p.since = h;
  else if (!holds && p.retaining) end_phase(pid, p, h.ts_ns);
}

void Retention::end_phase(uint32_t pid, Process& p, uint64_t until) {
  p.retaining = false;
  RetainedPhase ph{pid, p.peak_live, p.peak_mapped, p.since, until};
  if (ph.duration_ns() > longest_.duration_ns()) longest_ = ph;
}

void Retention::finish(const AllocatorMetrics& a) {
  for (auto& [pid, p] : procs_) {
    if (p.in_set) close_set(pid, p, a);
    if (p.retaining) end_phase(pid, p, p.last_ts);
  }
}

}  // namespace hk::analyze
