#include "analysis/outside_metrics.h"

#include <algorithm>
#include <vector>

namespace hk::analyze {

CallSite* OutsideMetrics::site(const SiteKey& k) {
  auto it = sites_.find(k);
  if (it != sites_.end()) return &it->second;
  if (sites_.size() >= kMaxSites) return &other_;
  CallSite& s = sites_[k];
  s.pid = k.pid;
  s.caller = k.caller;
  s.nr = k.nr;
  return &s;
}

void OutsideMetrics::on_brk(const hk_sys_record& r) {
  ++brk_.calls;
  // brk returns the new break (the old one when the request failed or asked
  // for nothing); the first call only tells us where the heap starts.
  if (brk_by_pid_.size() >= kMaxLiveMappings && !brk_by_pid_.count(r.pid)) return;
  BrkState& st = brk_by_pid_[r.pid];
  const uint64_t now = static_cast<uint64_t>(r.ret);
  if (st.start == 0) st.start = now;
  if (st.brk != 0 && now > st.brk) {
    ++brk_.grows;
    if (st.shrunk) ++brk_.cycles;
    st.shrunk = false;
    if (st.trimmed_from > st.brk) {
      brk_.bytes_regrown += std::min(now, st.trimmed_from) - st.brk;
      if (now >= st.trimmed_from) st.trimmed_from = 0;
    }
  } else if (st.brk != 0 && now < st.brk) {
    ++brk_.shrinks;
    brk_.bytes_trimmed += st.brk - now;
    st.shrunk = true;
    st.trimmed_from = std::max(st.trimmed_from, st.brk);
  }
  st.brk = now;
  brk_.peak_heap = std::max(brk_.peak_heap, now - st.start);
}

void OutsideMetrics::add(const hk_sys_record& r) {
  if (r.kind != HK_SYS_CALL) return;
  ++calls_;
  const SiteKey key{r.pid, r.nr, r.caller};
  CallSite* s = site(key);
  ++s->calls;
  s->total_ns += r.exit_ns >= r.enter_ns ? r.exit_ns - r.enter_ns : 0;
  if (r.ret < 0 && r.ret >= -4095) return;
  switch (r.nr) {
    case HK_NR_BRK:
      on_brk(r);
      break;
    case HK_NR_MMAP:
      if (live_.size() < kMaxLiveMappings)
        live_[MapKey{r.pid, static_cast<uint64_t>(r.ret)}] = Mapping{r.args[1], r.exit_ns, key};
      break;
    case HK_NR_MUNMAP: {
      // Only a whole-mapping unmap is a pair; a partial one (a trim) leaves
      // the mapping alive.
      auto it = live_.find(MapKey{r.pid, r.args[0]});
      if (it == live_.end() || it->second.len != r.args[1]) break;
      const uint64_t life = r.enter_ns >= it->second.ts ? r.enter_ns - it->second.ts : 0;
      if (life < kChurnLifetimeNs) {
        ++churn_pairs_;
        churn_bytes_ += r.args[1];
        churn_lifetime_.add(life);
        ++site(it->second.site)->churn_pairs;
      }
      live_.erase(it);
      break;
    }
    default:
      break;
  }
}

void OutsideMetrics::process_gone(uint32_t pid) {
  std::erase_if(live_, [pid](const auto& kv) { return kv.first.pid == pid; });
  brk_by_pid_.erase(pid);
}

std::vector<CallSite> OutsideMetrics::sites() const {
  std::vector<CallSite> out;
  out.reserve(sites_.size());
  for (const auto& [k, s] : sites_) out.push_back(s);
  std::sort(out.begin(), out.end(), [](const CallSite& a, const CallSite& b) {
    return a.calls != b.calls ? a.calls > b.calls : a < b;
  });
  return out;
}

}  // namespace hk::analyze
