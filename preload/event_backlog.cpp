#include "event_backlog.h"

#include "event_ring.h"

namespace hk {

void EventBacklog::drain(hk_drain_reason reason, uint64_t blocks, uint64_t emptied) {
  Drains& d = reason == HK_DRAIN_OVERFLOW ? overflow_ : interval_;
  ++d.n;
  d.blocks += blocks;
  d.emptied += emptied;
}

void EventBacklog::collection(unsigned cls, uint64_t first_slab, uint64_t blocks, uint64_t runs,
                              uint64_t emptied) {
  Collections& c = collections_;
  if (c.n == 0) {
    c.cls = cls;
    c.first_slab = first_slab;
  } else if (c.cls != cls) {
    c.cls = HK_CLASS_NONE;
  }
  ++c.n;
  c.blocks += blocks;
  c.runs += runs;
  c.emptied += emptied;
  if (c.n == kCollectionBatch) log_collections();
}

void EventBacklog::log_drains(Drains& d, hk_drain_reason reason) {
  if (!d.n) return;
  emit(HK_EV_DRAIN, HK_CLASS_NONE, uint8_t(reason), d.n, 0, d.blocks, d.emptied, frees_);
  d = {};
  frees_ = 0;
}

void EventBacklog::log_collections() {
  Collections& c = collections_;
  if (!c.n) return;
  emit(HK_EV_REMOTE_FREE_BATCH, uint8_t(c.cls), HK_REMOTE_SUMMED, c.first_slab, c.n, c.blocks,
       c.runs, c.emptied);
  c = {};
}

void EventBacklog::log(uint64_t now) {
  log_drains(overflow_, HK_DRAIN_OVERFLOW);
  log_drains(interval_, HK_DRAIN_INTERVAL);
  log_collections();
  logged_ns_ = now;
}

void EventBacklog::log_explicit_drain(uint64_t now, hk_drain_reason reason, uint64_t blocks,
                                      uint64_t emptied) {
  log(now);
  emit(HK_EV_DRAIN, HK_CLASS_NONE, uint8_t(reason), 1, 0, blocks, emptied, frees_);
  frees_ = 0;
}

}  // namespace hk
