// Fault metrics: where the traced tree's user page faults landed, what they
// cost, and what the memory they faulted in had been through: given back
// with madvise, trimmed off the brk heap, or mapped moments before by a
// mapping that was soon unmapped again. Also the processes' RSS over time.
//
// Contract: the analysis feeds every kernel record once, in time order
// (Timeline's output, before the join), to add(); the join then says who
// made each mmap (classify, by the mmap record's sequence number), which
// may come after the mapping's faults and even after its munmap, so a
// mapping's faults are booked to their target once both are known, or at
// finish(). One thread. Memory is bounded, whatever the trace holds (it is
// hostile input): kMaxRegions mappings in up to kMaxSpans pieces,
// kMaxAdvised advised ranges, kMaxSites sites, kMaxProcesses heaps and RSS
// series of at most 2 * kRssCurvePoints points each.
#pragma once

#include "analysis/duration_stats.h"

#include <hakmem/syscall_record.h>

#include <array>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

namespace hk::analyze {

// What a fault hit.
enum class FaultTarget : uint8_t {
  superslab,        // a SuperSlab of hakmem's (the join matched its mmap)
  large,            // a large block of hakmem's
  allocator_other,  // hakmem's metadata or event ring
  foreign,          // a mapping made during the trace outside the allocator
  brk,              // the program break heap (glibc's main arena)
  other,            // file-backed, stacks, mappings from before the trace
};
constexpr size_t kFaultTargets = 6;
const char* fault_target_name(FaultTarget t);

struct FaultCost {
  uint64_t faults = 0;
  uint64_t timed = 0;     // faults whose time was measured
  uint64_t timed_ns = 0;  // their summed time in the kernel
  void add(uint64_t n, uint64_t t, uint64_t ns) { faults += n, timed += t, timed_ns += ns; }
  void add(const FaultCost& c) { add(c.faults, c.timed, c.timed_ns); }
  // The time of all the faults in the kernel, scaled up from the timed
  // ones (the probe times a run's first fault and one in 8 after it); 0
  // when none was timed.
  uint64_t ns() const {
    return timed ? uint64_t(double(timed_ns) * double(faults) / double(timed) + 0.5) : 0;
  }
};

// One call site that gave memory back with madvise.
struct AdviseSite {
  uint32_t pid = 0;
  uint64_t caller = 0;
  uint64_t calls = 0, bytes = 0, ns = 0;
  FaultCost refaults;  // faults in what it advised, within kRefaultWindowNs
};

struct RssPoint {
  uint64_t ts_ns = 0;
  uint64_t pages = 0;
};

// One process's resident memory as the probe sampled it.
struct RssSeries {
  uint32_t pid = 0;
  uint64_t samples = 0;
  RssPoint first, peak, last;
  std::vector<RssPoint> curve;  // under 2 * kRssCurvePoints, evenly thinned
  uint64_t stride = 1;          // samples per curve point
};

class FaultMetrics {
 public:
  // A fault in memory given back within this time was the advice's cost:
  // the pages would not have faulted had they been kept.
  static constexpr uint64_t kRefaultWindowNs = 1'000'000'000;
  // Same as OutsideMetrics::kChurnLifetimeNs: a mapping unmapped this soon
  // was churn, and its faults were churn's cost.
  static constexpr uint64_t kChurnLifetimeNs = 1'000'000'000;
  static constexpr size_t kMaxRegions = 1u << 16;
  static constexpr size_t kMaxSpans = 2 * kMaxRegions;
  static constexpr size_t kMaxProcesses = 1024;
  static constexpr size_t kMaxAdvised = 1u << 14;
  static constexpr size_t kMaxSites = 4096;
  static constexpr size_t kRssCurvePoints = 64;

  void add(const hk_sys_record& r);
  // The join's verdict on an mmap record: made by the allocator for
  // `reason` (hk_os_reason), or by someone else (allocator = false).
  void classify(const hk_sys_record& mmap, bool allocator, uint8_t reason);
  void finish();

  bool seen() const { return records_ > 0; }  // the trace has fault records
  const FaultCost& total() const { return total_; }
  const FaultCost& by_target(FaultTarget t) const { return by_target_[size_t(t)]; }
  // Faults in mappings of each call site outside the allocator, keyed by
  // (pid, caller of the mmap).
  FaultCost site_faults(uint32_t pid, uint64_t caller) const;
  // Faults in foreign mappings that lived under kChurnLifetimeNs.
  const FaultCost& churn_faults() const { return churn_faults_; }
  // Faults in mappings of the allocator's that lived under that time.
  const FaultCost& allocator_churn_faults() const { return allocator_churn_faults_; }
  // Faults in the brk heap above the lowest break since its peak: memory
  // glibc trimmed and grew back.
  const FaultCost& brk_regrow_faults() const { return brk_regrow_; }
  // Faults in memory given back with madvise, within kRefaultWindowNs.
  const FaultCost& refaults() const { return refaults_; }
  uint64_t madvise_calls() const { return advise_calls_; }
  uint64_t madvise_bytes() const { return advise_bytes_; }
  uint64_t madvise_ns() const { return advise_ns_; }
  // madvise call sites, most refaults first.
  std::vector<AdviseSite> advise_sites() const;
  // The RSS of the process with the highest peak (samples == 0 if none).
  const RssSeries& rss() const;

 private:
  struct Key {
    uint32_t pid;
    uint64_t caller;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.caller ^ (uint64_t{k.pid} << 40)); }
  };
  // A mapping made during the trace; its faults wait here until both its
  // maker and its end are known.
  struct Region {
    Key site;
    uint64_t born_ns = 0, died_ns = 0;
    int spans = 0;  // pieces still mapped (a partial munmap splits one)
    bool classified = false, dead = false;
    bool exited = false;  // died with its process: no munmap, not churn
    FaultTarget target = FaultTarget::foreign;
    FaultCost cost;
  };
  struct Span {
    uint64_t end;
    uint64_t seq;  // the mmap record's, the key of regions_
  };
  struct Advised {
    uint64_t end, ts;
    Key site;
  };
  struct Heap {
    uint64_t start = 0, cur = 0;
    uint64_t trimmed_high = 0;  // the highest break a trim started from
    uint64_t floor = 0;         // the lowest break a trim left, 0 before any
  };

  void on_mmap(const hk_sys_record& r);
  void unmap(uint32_t pid, uint64_t addr, uint64_t len, uint64_t ts);
  void on_mremap(const hk_sys_record& r);
  void on_madvise(const hk_sys_record& r);
  void on_brk(const hk_sys_record& r);
  void on_faults(const hk_sys_record& r);
  void on_rss(const hk_sys_record& r);
  void process_gone(uint32_t pid, uint64_t ts);
  void settle(uint64_t seq);  // books a region that is classified and dead
  void book(const Region& g);
  AdviseSite* advise_site(const Key& k);

  uint64_t records_ = 0;
  FaultCost total_, churn_faults_, allocator_churn_faults_, brk_regrow_, refaults_;
  std::array<FaultCost, kFaultTargets> by_target_{};
  std::unordered_map<uint64_t, Region> regions_;           // by mmap seq
  std::map<uint32_t, std::map<uint64_t, Span>> spans_;     // pid -> start -> span
  size_t span_count_ = 0;
  std::map<uint32_t, std::map<uint64_t, Advised>> advised_;
  size_t advised_count_ = 0;
  std::unordered_map<Key, FaultCost, KeyHash> site_faults_;
  std::unordered_map<Key, AdviseSite, KeyHash> advise_sites_;
  uint64_t advise_calls_ = 0, advise_bytes_ = 0, advise_ns_ = 0;
  std::unordered_map<uint32_t, Heap> heaps_;
  std::map<uint32_t, RssSeries> rss_;
};

// madvise advice values that give memory back, so that touching it again
// faults: DONTNEED, FREE, REMOVE, COLD, PAGEOUT.
bool gives_memory_back(uint64_t advice);

}  // namespace hk::analyze
