// Outside metrics: memory syscalls that did not come from the allocator
// (the loader, libc's own malloc, the program), as the join resolved them.
// Groups them by call site, finds mmap/munmap pairs that churn (a mapping
// unmapped soon after it was made), and follows each process's program
// break to count glibc's heap trims.
//
// Contract: the analysis feeds each kernel-only syscall once, roughly in
// time order (the join may hold one back for its window), on one thread.
// Memory is bounded: at most kMaxSites call sites (the rest are summed into
// other_site), and kMaxLiveMappings outstanding foreign mappings and
// processes with a program break.
#pragma once

#include "analysis/duration_stats.h"

#include <hakmem/syscall_record.h>

#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

namespace hk::analyze {

struct CallSite {
  uint32_t pid = 0;   // where the address is valid
  uint64_t caller = 0;
  uint32_t nr = 0;
  uint64_t calls = 0;
  uint64_t total_ns = 0;
  uint64_t churn_pairs = 0;  // short-lived mappings made here
  auto operator<=>(const CallSite&) const = default;
};

struct BrkStats {
  uint64_t calls = 0;
  uint64_t grows = 0;
  uint64_t shrinks = 0;
  uint64_t cycles = 0;  // a shrink followed by a grow: memory given back, then wanted again
  uint64_t bytes_trimmed = 0;
  // Grown back after a trim, up to the break the trim started from: memory
  // given back and wanted again.
  uint64_t bytes_regrown = 0;
  uint64_t peak_heap = 0;  // the largest heap (break - its start) of a process
};

class OutsideMetrics {
 public:
  // A foreign mapping unmapped within this time was not worth mapping:
  // the program (or libc) pays two syscalls and page faults per use.
  static constexpr uint64_t kChurnLifetimeNs = 1'000'000'000;
  static constexpr size_t kMaxSites = 4096;
  static constexpr size_t kMaxLiveMappings = 1u << 16;

  void add(const hk_sys_record& r);
  void process_gone(uint32_t pid);

  uint64_t calls() const { return calls_; }
  uint64_t churn_pairs() const { return churn_pairs_; }
  const DurationStats& churn_lifetime() const { return churn_lifetime_; }
  uint64_t churn_bytes() const { return churn_bytes_; }
  // Call sites sorted by calls, most first.
  std::vector<CallSite> sites() const;
  const CallSite& other_site() const { return other_; }
  const BrkStats& brk() const { return brk_; }

 private:
  struct SiteKey {
    uint32_t pid;
    uint32_t nr;
    uint64_t caller;
    bool operator==(const SiteKey&) const = default;
  };
  struct SiteHash {
    size_t operator()(const SiteKey& k) const {
      return std::hash<uint64_t>()(k.caller ^ (uint64_t{k.pid} << 40) ^ (uint64_t{k.nr} << 32));
    }
  };
  struct Mapping {
    uint64_t len;
    uint64_t ts;
    SiteKey site;
  };
  struct MapKey {
    uint32_t pid;
    uint64_t addr;
    bool operator==(const MapKey&) const = default;
  };
  struct MapHash {
    size_t operator()(const MapKey& k) const { return std::hash<uint64_t>()(k.addr ^ (uint64_t{k.pid} << 48)); }
  };
  CallSite* site(const SiteKey& k);
  void on_brk(const hk_sys_record& r);

  uint64_t calls_ = 0, churn_pairs_ = 0, churn_bytes_ = 0;
  DurationStats churn_lifetime_;
  std::unordered_map<SiteKey, CallSite, SiteHash> sites_;
  CallSite other_;
  std::unordered_map<MapKey, Mapping, MapHash> live_;
  struct BrkState {
    uint64_t start = 0, brk = 0;
    uint64_t trimmed_from = 0;  // the break before the last trim(s)
    bool shrunk = false;
  };
  std::unordered_map<uint32_t, BrkState> brk_by_pid_;
  BrkStats brk_;
};

}  // namespace hk::analyze
