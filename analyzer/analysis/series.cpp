#include "analysis/series.h"

#include "analysis/syscall_table.h"

#include <algorithm>

namespace hk::analyze {

using Kind = TimeSeries::Kind;

SeriesCollector::SeriesCollector() {
  ids_.superslabs = ts_.series(series::kSuperSlabs, Kind::level);
  ids_.mapped = ts_.series(series::kMappedBytes, Kind::level);
  ids_.lru = ts_.series(series::kLruLength, Kind::level);
  ids_.push = ts_.series(series::kLruPush, Kind::count);
  ids_.hit = ts_.series(series::kLruHit, Kind::count);
  ids_.miss = ts_.series(series::kLruMiss, Kind::count);
  ids_.evict = ts_.series(series::kLruEvict, Kind::count);
  ids_.kernel_mapped = ts_.series(series::kKernelMappedBytes, Kind::level);
  ids_.heap = ts_.series(series::kHeapBytes, Kind::level);
  ids_.rss = ts_.series(series::kRssBytes, Kind::level);
  ids_.faults = ts_.series(series::kPageFaults, Kind::count);
}

SeriesCollector::Proc* SeriesCollector::proc(uint32_t pid) {
  if (last_proc_ && pid == last_pid_) return last_proc_;
  auto it = procs_.find(pid);
  Proc* p = it != procs_.end() ? &it->second : procs_.size() < kMaxProcesses ? &procs_[pid] : nullptr;
  if (p) last_pid_ = pid, last_proc_ = p;
  return p;
}

void SeriesCollector::set_level(uint64_t Proc::*field, uint64_t Sums::*sum, TimeSeries::Id id, Proc& p,
                                uint64_t v, uint64_t ts) {
  sums_.*sum = sums_.*sum - p.*field + v;
  p.*field = v;
  ts_.add(id, ts, static_cast<double>(sums_.*sum));
}

const SeriesCollector::PerNumber& SeriesCollector::per_number(uint32_t nr) {
  auto it = numbers_.find(nr);
  if (it != numbers_.end()) return it->second;
  const std::string name = syscall_name(nr);
  PerNumber n{ts_.series(series::kSysCalls + name, Kind::count), ts_.series(series::kSysNs + name, Kind::count),
              ts_.series(series::kSysMaxNs + name, Kind::peak)};
  return numbers_.emplace(nr, n).first->second;
}

const SeriesCollector::PerClass& SeriesCollector::per_class(uint8_t cls) {
  if (have_class_[cls]) return classes_[cls];
  const std::string c = std::to_string(cls);
  classes_[cls] = {ts_.series(series::kClassUsed + c, Kind::level), ts_.series(series::kClassParked + c, Kind::level),
                   ts_.series(series::kClassLive + c, Kind::level)};
  have_class_[cls] = true;
  return classes_[cls];
}

void SeriesCollector::on_event(uint32_t pid, const hk_event& ev) {
  const uint64_t t = ev.ts_ns;
  switch (ev.type) {
    case HK_EV_SNAPSHOT: {
      if (ev.cls == HK_CLASS_NONE) return;
      const PerClass& c = per_class(ev.cls);
      ts_.add(c.used, t, static_cast<double>(ev.a));
      ts_.add(c.parked, t, static_cast<double>(ev.b));
      ts_.add(c.live, t, static_cast<double>(ev.c));
      return;
    }
    case HK_EV_LRU_PUSH: ts_.add(ids_.push, t, 1); break;
    case HK_EV_LRU_POP_HIT: ts_.add(ids_.hit, t, 1); break;
    case HK_EV_LRU_POP_MISS: ts_.add(ids_.miss, t, 1); break;
    case HK_EV_LRU_EVICT: ts_.add(ids_.evict, t, 1); break;
    case HK_EV_SS_MAP:
    case HK_EV_SS_UNMAP:
    case HK_EV_OS_MMAP:
    case HK_EV_OS_MUNMAP:
    case HK_EV_ATTACH: break;
    default: return;
  }
  Proc* p = proc(pid);
  if (!p) return;
  switch (ev.type) {
    case HK_EV_LRU_PUSH:
    case HK_EV_LRU_POP_HIT:
    case HK_EV_LRU_POP_MISS:
    case HK_EV_LRU_EVICT: set_level(&Proc::lru, &Sums::lru, ids_.lru, *p, ev.a, t); break;
    case HK_EV_SS_MAP:
    case HK_EV_SS_UNMAP: set_level(&Proc::superslabs, &Sums::superslabs, ids_.superslabs, *p, ev.a, t); break;
    case HK_EV_ATTACH:
      // Where the allocator stood when the ring was switched on mid-run.
      set_level(&Proc::superslabs, &Sums::superslabs, ids_.superslabs, *p, ev.a, t);
      set_level(&Proc::mapped, &Sums::mapped, ids_.mapped, *p, p->mapped + ev.len, t);
      break;
    case HK_EV_OS_MMAP:
    case HK_EV_OS_MUNMAP: {
      if (static_cast<int64_t>(ev.a) < 0) break;  // failed: nothing mapped or unmapped
      const uint64_t now = ev.type == HK_EV_OS_MMAP ? p->mapped + ev.len : p->mapped - std::min(p->mapped, ev.len);
      set_level(&Proc::mapped, &Sums::mapped, ids_.mapped, *p, now, t);
      break;
    }
    default: break;
  }
}

void SeriesCollector::on_syscall(const hk_sys_record& r) {
  if (r.kind == HK_SYS_FAULTS) {
    ts_.add(ids_.faults, r.enter_ns, static_cast<double>(r.args[2]));
    return;
  }
  if (r.kind == HK_SYS_RSS) {
    constexpr uint64_t kPage = 4096;
    if (Proc* p = proc(r.pid))
      set_level(&Proc::rss, &Sums::rss, ids_.rss, *p, (r.args[0] + r.args[1] + r.args[3]) * kPage, r.exit_ns);
    return;
  }
  if (r.kind != HK_SYS_CALL) return;
  const PerNumber& n = per_number(r.nr);
  const uint64_t dur = r.exit_ns >= r.enter_ns ? r.exit_ns - r.enter_ns : 0;
  ts_.add(n.calls, r.enter_ns, 1);
  ts_.add(n.ns, r.enter_ns, static_cast<double>(dur));
  ts_.add(n.max_ns, r.enter_ns, static_cast<double>(dur));
  if (r.ret < 0 && r.ret >= -4095 && r.nr != HK_NR_BRK) return;  // failed: no change
  Proc* p = proc(r.pid);
  if (!p) return;
  if (r.nr == HK_NR_MMAP || r.nr == HK_NR_MUNMAP) {
    const uint64_t len = r.args[1];
    const uint64_t now = r.nr == HK_NR_MMAP ? p->kernel_mapped + len
                                            : p->kernel_mapped - std::min(p->kernel_mapped, len);
    set_level(&Proc::kernel_mapped, &Sums::kernel_mapped, ids_.kernel_mapped, *p, now, r.exit_ns);
  } else if (r.nr == HK_NR_BRK && r.ret > 0) {
    // brk returns the break, also when it refuses to move it.
    const uint64_t brk = static_cast<uint64_t>(r.ret);
    if (p->brk_base == 0) p->brk_base = brk;
    set_level(&Proc::heap, &Sums::heap, ids_.heap, *p, brk > p->brk_base ? brk - p->brk_base : 0, r.exit_ns);
  }
}

void SeriesCollector::process_gone(uint32_t pid, uint64_t ts_ns) {
  auto it = procs_.find(pid);
  if (it == procs_.end()) return;
  Proc& p = it->second;
  // Only the levels this process had a share in move.
  if (p.superslabs) set_level(&Proc::superslabs, &Sums::superslabs, ids_.superslabs, p, 0, ts_ns);
  if (p.lru) set_level(&Proc::lru, &Sums::lru, ids_.lru, p, 0, ts_ns);
  if (p.mapped) set_level(&Proc::mapped, &Sums::mapped, ids_.mapped, p, 0, ts_ns);
  if (p.rss) set_level(&Proc::rss, &Sums::rss, ids_.rss, p, 0, ts_ns);
  if (p.kernel_mapped) set_level(&Proc::kernel_mapped, &Sums::kernel_mapped, ids_.kernel_mapped, p, 0, ts_ns);
  if (p.heap) set_level(&Proc::heap, &Sums::heap, ids_.heap, p, 0, ts_ns);
  procs_.erase(it);
  last_proc_ = nullptr;
}

TimeSeries SeriesCollector::finish(uint64_t end_ns) {
  ts_.extend_to(end_ns);
  return std::move(ts_);
}

}  // namespace hk::analyze
