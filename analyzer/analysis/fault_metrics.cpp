#include "analysis/fault_metrics.h"

#include <hakmem/events.h>

#include <algorithm>

namespace hk::analyze {

namespace {
constexpr uint64_t kPage = 4096;
uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }
bool failed(const hk_sys_record& r) { return r.ret < 0 && r.ret >= -4095; }
}  // namespace

const char* fault_target_name(FaultTarget t) {
  switch (t) {
    case FaultTarget::superslab: return "SuperSlabs";
    case FaultTarget::large: return "large blocks";
    case FaultTarget::allocator_other: return "allocator metadata";
    case FaultTarget::foreign: return "mappings outside the allocator";
    case FaultTarget::brk: return "brk heap";
    case FaultTarget::other: return "other (files, stacks, older mappings)";
  }
  return "other";
}

bool gives_memory_back(uint64_t advice) {
  // MADV_DONTNEED 4, MADV_REMOVE 9, MADV_FREE 8, MADV_COLD 20, MADV_PAGEOUT 21
  return advice == 4 || advice == 8 || advice == 9 || advice == 20 || advice == 21;
}

void FaultMetrics::add(const hk_sys_record& r) {
  switch (r.kind) {
    case HK_SYS_FAULTS: on_faults(r); return;
    case HK_SYS_RSS: on_rss(r); return;
    case HK_SYS_EXEC:
    case HK_SYS_EXIT: process_gone(r.pid, r.exit_ns); return;
    case HK_SYS_CALL: break;
    default: return;
  }
  if (failed(r)) return;
  switch (r.nr) {
    case HK_NR_MMAP: on_mmap(r); break;
    case HK_NR_MUNMAP: unmap(r.pid, r.args[0], page_up(r.args[1]), r.enter_ns); break;
    case HK_NR_MREMAP: on_mremap(r); break;
    case HK_NR_MADVISE: on_madvise(r); break;
    case HK_NR_BRK: on_brk(r); break;
    default: break;
  }
}

void FaultMetrics::on_mmap(const hk_sys_record& r) {
  const uint64_t addr = static_cast<uint64_t>(r.ret), len = page_up(r.args[1]);
  // MAP_FIXED over an older mapping replaces it.
  unmap(r.pid, addr, len, r.exit_ns);
  if (regions_.size() >= kMaxRegions || len == 0) return;
  Region& g = regions_[r.seq];
  g = Region{};
  g.site = Key{r.pid, r.caller};
  g.born_ns = r.exit_ns;
  g.spans = 1;
  spans_[r.pid][addr] = Span{addr + len, r.seq};
  ++span_count_;
}

void FaultMetrics::unmap(uint32_t pid, uint64_t addr, uint64_t len, uint64_t ts) {
  auto pit = spans_.find(pid);
  if (pit == spans_.end() || len == 0) return;
  auto& m = pit->second;
  const uint64_t end = addr + len;
  auto it = m.upper_bound(addr);
  if (it != m.begin() && std::prev(it)->second.end > addr) --it;
  while (it != m.end() && it->first < end) {
    const uint64_t s = it->first;
    const Span sp = it->second;
    it = m.erase(it);
    --span_count_;
    auto g = regions_.find(sp.seq);
    int pieces = 0;
    // What is left on either side of the unmapped range stays mapped
    // (forgotten, its faults going to "other", once pieces hit their bound).
    if (s < addr && span_count_ < kMaxSpans) m.emplace(s, Span{addr, sp.seq}), ++pieces, ++span_count_;
    if (sp.end > end && span_count_ < kMaxSpans)
      it = m.emplace(end, Span{sp.end, sp.seq}).first, ++pieces, ++span_count_;
    if (g == regions_.end()) continue;
    g->second.spans += pieces - 1;
    if (g->second.spans == 0) {
      g->second.dead = true;
      g->second.died_ns = ts;
      settle(sp.seq);
    }
  }
}

void FaultMetrics::on_mremap(const hk_sys_record& r) {
  const uint64_t old_addr = r.args[0], old_len = page_up(r.args[1]), new_len = page_up(r.args[2]);
  const uint64_t new_addr = static_cast<uint64_t>(r.ret);
  uint64_t seq = 0;
  bool found = false;
  if (auto pit = spans_.find(r.pid); pit != spans_.end()) {
    auto it = pit->second.upper_bound(old_addr);
    if (it != pit->second.begin() && std::prev(it)->second.end > old_addr) {
      seq = std::prev(it)->second.seq;
      found = regions_.count(seq) != 0;
    }
  }
  // The region lives on at its new place: keep it from settling meanwhile.
  if (found) ++regions_[seq].spans;
  unmap(r.pid, old_addr, old_len, r.exit_ns);
  if (!found) return;
  unmap(r.pid, new_addr, new_len, r.exit_ns);
  Region& g = regions_[seq];
  if (span_count_ >= kMaxSpans) {
    // No room for the moved piece: the region ends here.
    if (--g.spans == 0) g.dead = true, g.died_ns = r.exit_ns, settle(seq);
    return;
  }
  spans_[r.pid][new_addr] = Span{new_addr + new_len, seq};
  ++span_count_;
}

AdviseSite* FaultMetrics::advise_site(const Key& k) {
  auto it = advise_sites_.find(k);
  if (it != advise_sites_.end()) return &it->second;
  if (advise_sites_.size() >= kMaxSites) return nullptr;
  AdviseSite& s = advise_sites_[k];
  s.pid = k.pid;
  s.caller = k.caller;
  return &s;
}

void FaultMetrics::on_madvise(const hk_sys_record& r) {
  if (!gives_memory_back(r.args[2])) return;
  const uint64_t addr = r.args[0], len = page_up(r.args[1]);
  const Key k{r.pid, r.caller};
  ++advise_calls_;
  advise_bytes_ += len;
  const uint64_t ns = r.exit_ns >= r.enter_ns ? r.exit_ns - r.enter_ns : 0;
  advise_ns_ += ns;
  if (AdviseSite* s = advise_site(k)) ++s->calls, s->bytes += len, s->ns += ns;
  if (advised_count_ >= kMaxAdvised) {
    // Full: forget advice older than the refault window.
    for (auto& [pid, ranges] : advised_)
      advised_count_ -= std::erase_if(ranges, [&](const auto& kv) { return r.exit_ns - kv.second.ts > kRefaultWindowNs; });
    std::erase_if(advised_, [](const auto& kv) { return kv.second.empty(); });
    if (advised_count_ >= kMaxAdvised) return;
  }
  // The newest advice over a range is the one its next faults answer to.
  auto& m = advised_[r.pid];
  auto it = m.upper_bound(addr);
  if (it != m.begin() && std::prev(it)->second.end > addr) --it;
  while (it != m.end() && it->first < addr + len) {
    it = m.erase(it);
    --advised_count_;
  }
  m.emplace(addr, Advised{addr + len, r.exit_ns, k});
  ++advised_count_;
}

void FaultMetrics::on_brk(const hk_sys_record& r) {
  const uint64_t now = static_cast<uint64_t>(r.ret);
  if (heaps_.size() >= kMaxProcesses && !heaps_.count(r.pid)) return;
  Heap& h = heaps_[r.pid];
  if (h.start == 0) {
    h.start = h.cur = now;
    return;
  }
  if (now < h.cur) {
    // Trimmed: faults between the new break and the highest break trimmed
    // so far are memory given back and wanted again.
    h.trimmed_high = std::max(h.trimmed_high, h.cur);
    h.floor = h.floor ? std::min(h.floor, now) : now;
  }
  h.cur = now;
}

void FaultMetrics::on_faults(const hk_sys_record& r) {
  ++records_;
  const uint64_t lo = r.args[0], n = r.args[2], timed = r.args[3], ns = r.args[4];
  total_.add(n, timed, ns);
  if (auto ait = advised_.find(r.pid); ait != advised_.end()) {
    auto it = ait->second.upper_bound(lo);
    if (it != ait->second.begin()) {
      --it;
      const Advised& a = it->second;
      if (lo < a.end && r.enter_ns >= a.ts && r.enter_ns - a.ts <= kRefaultWindowNs) {
        refaults_.add(n, timed, ns);
        if (AdviseSite* s = advise_site(a.site)) s->refaults.add(n, timed, ns);
      }
    }
  }
  if (auto pit = spans_.find(r.pid); pit != spans_.end()) {
    auto it = pit->second.upper_bound(lo);
    if (it != pit->second.begin() && std::prev(it)->second.end > lo) {
      if (auto g = regions_.find(std::prev(it)->second.seq); g != regions_.end()) {
        g->second.cost.add(n, timed, ns);
        return;
      }
    }
  }
  if (auto hit = heaps_.find(r.pid); hit != heaps_.end()) {
    const Heap& h = hit->second;
    if (lo >= h.start && lo < std::max(h.cur, h.trimmed_high)) {
      by_target_[size_t(FaultTarget::brk)].add(n, timed, ns);
      if (h.floor && lo >= h.floor && lo < h.trimmed_high) brk_regrow_.add(n, timed, ns);
      return;
    }
  }
  by_target_[size_t(FaultTarget::other)].add(n, timed, ns);
}

void FaultMetrics::on_rss(const hk_sys_record& r) {
  if (rss_.size() >= kMaxProcesses && !rss_.count(r.pid)) return;
  RssSeries& s = rss_[r.pid];
  const RssPoint p{r.exit_ns, r.args[0] + r.args[1] + r.args[3]};
  s.pid = r.pid;
  if (s.samples == 0) s.first = p, s.peak = p;
  // The probe also reports the highest RSS it saw between two samples.
  const RssPoint high{r.exit_ns, std::max<uint64_t>(p.pages, r.args[4])};
  if (high.pages > s.peak.pages) s.peak = high;
  s.last = p;
  if (s.samples % s.stride == 0) {
    s.curve.push_back(p);
    if (s.curve.size() == 2 * kRssCurvePoints) {
      // Thin to every other point: the curve stays evenly spaced in samples.
      for (size_t i = 0; i < kRssCurvePoints; ++i) s.curve[i] = s.curve[2 * i];
      s.curve.resize(kRssCurvePoints);
      s.stride *= 2;
    }
  }
  ++s.samples;
}

void FaultMetrics::process_gone(uint32_t pid, uint64_t ts) {
  if (auto pit = spans_.find(pid); pit != spans_.end()) {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const auto& [start, sp] : pit->second) {
      ranges.emplace_back(start, sp.end - start);
      if (auto g = regions_.find(sp.seq); g != regions_.end()) g->second.exited = true;
    }
    for (const auto& [start, len] : ranges) unmap(pid, start, len, ts);
    span_count_ -= spans_[pid].size();
    spans_.erase(pid);
  }
  if (auto ait = advised_.find(pid); ait != advised_.end()) {
    advised_count_ -= ait->second.size();
    advised_.erase(ait);
  }
  heaps_.erase(pid);
}

void FaultMetrics::classify(const hk_sys_record& mmap, bool allocator, uint8_t reason) {
  auto g = regions_.find(mmap.seq);
  if (g == regions_.end() || g->second.classified) return;
  Region& reg = g->second;
  reg.classified = true;
  if (!allocator) reg.target = FaultTarget::foreign;
  else if (reason == HK_OS_SUPERSLAB || reason == HK_OS_ALIGN_TRIM) reg.target = FaultTarget::superslab;
  else if (reason == HK_OS_LARGE) reg.target = FaultTarget::large;
  else reg.target = FaultTarget::allocator_other;
  settle(mmap.seq);
}

void FaultMetrics::settle(uint64_t seq) {
  auto g = regions_.find(seq);
  if (g == regions_.end() || !g->second.classified || !g->second.dead) return;
  book(g->second);
  regions_.erase(g);
}

void FaultMetrics::book(const Region& g) {
  by_target_[size_t(g.target)].add(g.cost);
  const bool churn = g.dead && !g.exited && g.died_ns >= g.born_ns && g.died_ns - g.born_ns < kChurnLifetimeNs;
  if (g.target == FaultTarget::foreign) {
    if (churn) churn_faults_.add(g.cost);
    if (g.cost.faults && (site_faults_.size() < kMaxSites || site_faults_.count(g.site)))
      site_faults_[g.site].add(g.cost);
  } else if (churn) {
    allocator_churn_faults_.add(g.cost);
  }
}

void FaultMetrics::finish() {
  // Mappings still alive, and any the join never ruled on (it rules on
  // every mmap, so only a hostile or cut trace leaves some), as foreign.
  for (const auto& [seq, g] : regions_) book(g);
  regions_.clear();
  spans_.clear();
  span_count_ = 0;
}

FaultCost FaultMetrics::site_faults(uint32_t pid, uint64_t caller) const {
  auto it = site_faults_.find(Key{pid, caller});
  return it == site_faults_.end() ? FaultCost{} : it->second;
}

std::vector<AdviseSite> FaultMetrics::advise_sites() const {
  std::vector<AdviseSite> out;
  for (const auto& [k, s] : advise_sites_) out.push_back(s);
  std::sort(out.begin(), out.end(), [](const AdviseSite& a, const AdviseSite& b) {
    if (a.refaults.faults != b.refaults.faults) return a.refaults.faults > b.refaults.faults;
    if (a.calls != b.calls) return a.calls > b.calls;
    return a.caller < b.caller;
  });
  return out;
}

const RssSeries& FaultMetrics::rss() const {
  static const RssSeries kNone;
  const RssSeries* best = &kNone;
  for (const auto& [pid, s] : rss_)
    if (s.peak.pages > best->peak.pages) best = &s;
  return *best;
}

}  // namespace hk::analyze
