// Event backlog: a thread heap's frequent records, counted and logged summed.
//
// Contract: each thread heap owns one EventBacklog; only the thread that owns
// the heap touches it (from its slow paths, and from its exit flush), so it
// takes no lock. Periodic and overflow drains, and inbox collections, happen
// thousands of times a second in a busy program, and a record each was most
// of what a recording cost it (fill_free_all: 228K overflow records in 16M
// operations; producer_consumer: 95K collections). The backlog counts them
// and logs one record per kind that sums them (events.h, version 2): drains
// when a periodic drain finds kLogPeriodNs passed since the last log,
// collections every kCollectionBatch, and everything whenever log() is
// called (before an explicit drain's own record, at thread and process
// exit). With no ring open, emit() drops the records and the counts reset.
#pragma once

#include <stdint.h>

#include <hakmem/events.h>

namespace hk {

class EventBacklog {
 public:
  static constexpr uint64_t kLogPeriodNs = 1000000;
  static constexpr uint64_t kCollectionBatch = 64;

  void reset() { *this = EventBacklog{}; }

  // A drain (HK_DRAIN_INTERVAL or HK_DRAIN_OVERFLOW) returned `blocks` and
  // emptied `emptied` slabs.
  void drain(hk_drain_reason reason, uint64_t blocks, uint64_t emptied);
  // The thread's frees since its previous drain (each DRAIN record says how
  // many frees passed since the thread's previous DRAIN record).
  void frees(uint64_t n) { frees_ += n; }
  // One inbox collection; cls is its class, or HK_CLASS_NONE when mixed.
  void collection(unsigned cls, uint64_t first_slab, uint64_t blocks, uint64_t runs,
                  uint64_t emptied);

  // Logs the drains if kLogPeriodNs passed since the last log.
  void log_if_due(uint64_t now) {
    if (now - logged_ns_ >= kLogPeriodNs) log(now);
  }
  // Logs everything counted so far.
  void log(uint64_t now);
  // An explicit drain's own record, after everything counted before it.
  void log_explicit_drain(uint64_t now, hk_drain_reason reason, uint64_t blocks,
                          uint64_t emptied);

 private:
  struct Drains {
    uint64_t n, blocks, emptied;
  };
  struct Collections {
    uint64_t n, blocks, runs, emptied, first_slab;
    unsigned cls;
  };
  void log_drains(Drains& d, hk_drain_reason reason);
  void log_collections();

  Drains interval_{}, overflow_{};
  Collections collections_{};
  uint64_t frees_ = 0;  // frees since the last DRAIN record
  uint64_t logged_ns_ = 0;
};

}  // namespace hk
