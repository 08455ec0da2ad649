#include "analysis/join.h"

#include <algorithm>

namespace hk::analyze {

Join::Join(JoinSink& sink, JoinLimits limits) : sink_(sink), limits_(limits) {}

bool Join::joinable_syscall(const hk_sys_record& sys) {
  return sys.kind == HK_SYS_CALL &&
         (sys.nr == HK_NR_MMAP || sys.nr == HK_NR_MUNMAP || sys.nr == HK_NR_MADVISE);
}

bool Join::joinable_event(const hk_event& ev) {
  return ev.type == HK_EV_OS_MMAP || ev.type == HK_EV_OS_MUNMAP || ev.type == HK_EV_OS_MADVISE;
}

bool Join::keys_match(const hk_sys_record& sys, const hk_event& ev) {
  const int64_t ret = static_cast<int64_t>(ev.a);
  switch (ev.type) {
    case HK_EV_OS_MMAP:
      if (sys.nr != HK_NR_MMAP || sys.args[1] != ev.len) return false;
      // A failed mmap has no address to compare; its errno stands in.
      if (sys.ret < 0) return ret == sys.ret;
      return static_cast<uint64_t>(sys.ret) == ev.addr;
    case HK_EV_OS_MUNMAP:
      return sys.nr == HK_NR_MUNMAP && sys.args[0] == ev.addr && sys.args[1] == ev.len;
    case HK_EV_OS_MADVISE:
      return sys.nr == HK_NR_MADVISE && sys.args[0] == ev.addr && sys.args[1] == ev.len;
    default:
      return false;
  }
}

void Join::resolve_alone(const hk_sys_record& sys) {
  ++counts_.kernel_only;
  sink_.on_kernel_only(sys);
}

void Join::resolve_alone(const PendingEvent& e) {
  ++counts_.allocator_only;
  sink_.on_allocator_only(e.pid, e.ev);
}

template <class T>
void Join::drop(std::vector<T>& side, size_t n) {
  for (size_t i = 0; i < n; ++i) resolve_alone(side[i]);
  side.erase(side.begin(), side.begin() + static_cast<ptrdiff_t>(n));
  pending_total_ -= n;
}

void Join::expire(Pending& p) {
  // A syscall waits for the allocator's stream, not the kernel's, to move
  // past it: if the recorder wrote the kernel's chunks well ahead of the
  // ring's, the events that match them are still to come.
  size_t n = 0;
  while (n < p.sys.size() && p.sys[n].exit_ns + limits_.window_ns < allocator_now_) ++n;
  if (n) drop(p.sys, n);
  n = 0;
  while (n < p.ev.size() && p.ev[n].ev.ts_ns + limits_.window_ns < kernel_now_) ++n;
  if (n) drop(p.ev, n);
}

template <class T, class Other>
void Join::pair_or_hold(const T& rec, std::vector<T>& same_side, std::vector<Other>& other_side) {
  // The oldest waiting record of the other side with the same keys is the
  // partner; those older than it on that side will never be matched.
  for (size_t i = 0; i < other_side.size(); ++i) {
    if (keys_match(rec, other_side[i])) {
      drop(other_side, i);
      ++counts_.matched;
      resolve_matched(rec, other_side[0]);
      other_side.erase(other_side.begin());
      --pending_total_;
      return;
    }
  }
  if (same_side.size() >= limits_.max_pending) {
    counts_.overflowed += same_side.size() / 2;
    drop(same_side, same_side.size() / 2);
  }
  same_side.push_back(rec);
  if (++pending_total_ > limits_.max_pending_total || by_tid_.size() > limits_.max_pending_total) resolve_all();
}

void Join::on_syscall(const hk_sys_record& sys) {
  if (sys.kind != HK_SYS_CALL) return;
  if (!joinable_syscall(sys)) {
    resolve_alone(sys);
    return;
  }
  kernel_now_ = std::max<uint64_t>(kernel_now_, sys.exit_ns);
  Pending& p = by_tid_[sys.tid];
  expire(p);
  // An event seen before its syscall only happens when the timeline had to
  // release out of order.
  pair_or_hold(sys, p.sys, p.ev);
}

void Join::on_event(uint32_t pid, const hk_event& ev) {
  allocator_now_ = std::max<uint64_t>(allocator_now_, ev.ts_ns);
  Pending& p = by_tid_[ev.tid];
  expire(p);
  pair_or_hold(PendingEvent{pid, ev}, p.ev, p.sys);
}

void Join::advance(uint64_t now_ns) {
  // A full sweep costs one pass over the threads; doing it once per window
  // fraction keeps it off the per-record path.
  if (now_ns < last_sweep_ns_ + limits_.window_ns / 4) return;
  last_sweep_ns_ = now_ns;
  for (auto it = by_tid_.begin(); it != by_tid_.end();) {
    expire(it->second);
    if (it->second.sys.empty() && it->second.ev.empty()) it = by_tid_.erase(it);
    else ++it;
  }
}

void Join::resolve_all() {
  for (const auto& [tid, p] : by_tid_) counts_.overflowed += p.sys.size() + p.ev.size();
  finish();
}

void Join::finish() {
  for (auto& [tid, p] : by_tid_) {
    drop(p.sys, p.sys.size());
    drop(p.ev, p.ev.size());
  }
  by_tid_.clear();
}

}  // namespace hk::analyze
