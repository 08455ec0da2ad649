#include "analysis/accounting.h"

namespace hk::analyze {

void ClassAccounting::add(const SnapshotPoint& p) {
  ++snapshots;
  if (shows_gap(p)) ++gap_snapshots;
  if (p.parked < kGapMinBlocks) ++low_snapshots;
  if (snapshots == 1 || p.parked > worst.parked) worst = p;
  if (p.used > max_used) max_used = p.used;
  last = p;
  // Keep every stride-th point; when the curve is full, drop every other
  // point and double the stride, so the points stay evenly spread.
  if (seen_++ % stride_ != 0) return;
  if (curve.size() == kMaxPoints) {
    for (size_t i = 0; i < kMaxPoints / 2; ++i) curve[i] = curve[2 * i];
    curve.resize(kMaxPoints / 2);
    stride_ *= 2;
    if ((seen_ - 1) % stride_ != 0) return;
  }
  curve.push_back(p);
}

void Accounting::add(const hk_event& ev) {
  ClassAccounting& c = classes_[ev.cls];
  c.block_size = ev.len;
  // Thread caches are read racily by the allocator; never let a torn read
  // produce more parked blocks than used ones.
  const uint64_t parked = ev.b < ev.a ? ev.b : ev.a;
  c.add(SnapshotPoint{ev.ts_ns, ev.a, parked, ev.c, ev.addr});
}

}  // namespace hk::analyze
