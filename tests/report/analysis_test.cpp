// Metrics and diagnoses on constructed recordings.
#include "analysis/analysis.h"
#include "analysis/diagnoses.h"
#include "scenarios.h"

#include <gtest/gtest.h>

#include <functional>

using namespace hk::analyze;
using hk::synth::Stream;

namespace {

// Runs `build` against a fresh stream feeding an Analysis, as a recording
// would: kernel records and events arrive as separate chunks.
Report analyse(const std::function<void(Stream&)>& build, const std::function<void(Analysis&)>& extra = {}) {
  Analysis a("synthetic");
  a.add_meta({{"start_mono_ns", "1000000000"}, {"bpf", "1"}, {"preload", "1"}});
  Stream s([&](uint32_t pid, std::span<const hk_event> ev, std::span<const hk_sys_record> sys) {
    if (!sys.empty()) a.add_syscalls(sys);
    if (!ev.empty()) a.add_events(pid, ev);
  });
  build(s);
  s.flush();
  if (extra) extra(a);
  hk_trace_footer f{};
  f.end_mono_ns = s.now() + 1000;
  a.add_footer(f);
  return a.finish();
}

std::vector<std::string> ids(const Report& r) {
  std::vector<std::string> out;
  for (const Diagnosis& d : r.diagnoses) out.push_back(d.id);
  return out;
}

const Diagnosis& find(const Report& r, const std::string& id) {
  for (const Diagnosis& d : r.diagnoses)
    if (d.id == id) return d;
  throw std::runtime_error("no diagnosis " + id);
}

double evidence(const Diagnosis& d, const std::string& key) {
  for (const Evidence& e : d.evidence)
    if (e.key == key) return e.value;
  throw std::runtime_error("no evidence " + key);
}

using Ids = std::vector<std::string>;

}  // namespace

TEST(Metrics, SyscallTableCountsLatencyAndErrors) {
  Report r = analyse([](Stream& s) {
    s.syscall(1, HK_NR_MMAP, 0, 4096, 0x1000, 0, 300);
    s.syscall(1, HK_NR_MMAP, 0, 4096, -12, 0, 700);
    s.syscall(1, HK_NR_MUNMAP, 0x1000, 4096, 0, 0, 100);
  });
  const auto& rows = r.syscalls.rows();
  ASSERT_EQ(rows.count(HK_NR_MMAP), 1u);
  EXPECT_EQ(rows.at(HK_NR_MMAP).count, 2u);
  EXPECT_EQ(rows.at(HK_NR_MMAP).errors, 1u);
  EXPECT_EQ(rows.at(HK_NR_MMAP).latency.total(), 1000u);
  EXPECT_EQ(rows.at(HK_NR_MMAP).latency.max(), 700u);
  EXPECT_EQ(r.syscalls.total_calls(), 3u);
  EXPECT_EQ(r.join.kernel_only, 3u);
}

TEST(Metrics, SuperSlabLifetimeRemapAndPeakMapped) {
  Report r = analyse([](Stream& s) {
    s.ss_map(1, 0x100000, 1 << 20, 1);
    s.advance(5000);
    s.ss_map(1, 0x200000, 1 << 20, 2);
    s.advance(1000);
    s.ss_unmap(1, 0x100000, 1 << 20, HK_SS_EVICT, 1);
    s.advance(2000);
    s.ss_map(1, 0x300000, 1 << 20, 2);
  });
  const AllocatorMetrics& a = r.allocator;
  EXPECT_EQ(a.count(HK_EV_SS_MAP), 3u);
  EXPECT_EQ(a.superslab_lifetime.count(), 1u);
  EXPECT_GT(a.superslab_lifetime.min(), 6000u);
  EXPECT_EQ(a.superslab_remap.interval.count(), 1u);
  EXPECT_EQ(a.superslab_remap.within_window, 1u);
  EXPECT_EQ(a.peak_mapped_bytes, 2u << 20);
  EXPECT_EQ(r.join.matched, 4u);
  EXPECT_DOUBLE_EQ(r.join.rate(), 1.0);
}

TEST(Metrics, LruHitRateAndAccountingCurveIsBounded) {
  Report r = analyse([](Stream& s) {
    for (int i = 0; i < 3; ++i) s.event(HK_EV_LRU_POP_HIT, 1);
    s.event(HK_EV_LRU_POP_MISS, 1);
    for (uint64_t i = 0; i < 10'000; ++i) s.snapshot(3, 64, 1000 + i, 10);
  });
  EXPECT_DOUBLE_EQ(r.allocator.lru_hit_rate(), 0.75);
  const ClassAccounting& c = r.accounting.classes().at(3);
  EXPECT_EQ(c.snapshots, 10'000u);
  EXPECT_LE(c.curve.size(), ClassAccounting::kMaxPoints);
  EXPECT_GE(c.curve.size(), ClassAccounting::kMaxPoints / 2);
  EXPECT_EQ(c.last.used, 10'999u);
  EXPECT_EQ(c.gap_snapshots, 0u);
}

TEST(Metrics, NoLruLookupsMeansNoHitRate) {
  Report r = analyse([](Stream& s) { s.event(HK_EV_LRU_PUSH, 1); });
  EXPECT_LT(r.allocator.lru_hit_rate(), 0.0);
}

// Version-2 writers fold a slab's SLAB_EMPTY into its SLAB_RELEASE and sum
// drains (one DRAIN record per reason), large reuses and inbox collections
// into one record each; version-1 streams log each. Both must count the same.
TEST(Metrics, FoldedRecordsCountLikeSeparateOnes) {
  constexpr uint64_t kSlab = 32768;
  const Report v1 = analyse([](Stream& s) {
    s.event(HK_EV_SLAB_EMPTY, 1, 3, 0, 0x10000000, kSlab);
    s.event(HK_EV_SLAB_RELEASE, 1, 3, 0, 0x10000000, kSlab);
    for (int i = 0; i < 5; ++i) s.event(HK_EV_DRAIN, 1, 3, HK_DRAIN_OVERFLOW, 0, 0, 8, 1);
    for (int i = 0; i < 3; ++i) s.event(HK_EV_DRAIN, 1, HK_CLASS_NONE, HK_DRAIN_INTERVAL, 0, 0, 4, 0);
    s.event(HK_EV_DRAIN, 1, HK_CLASS_NONE, HK_DRAIN_TRIM, 0, 0, 1, 0);
    for (int i = 0; i < 3; ++i) s.event(HK_EV_LARGE_REUSE, 1, HK_CLASS_NONE, 0, 0x20000000, 1 << 20, 1 << 20);
    for (int i = 0; i < 4; ++i) s.event(HK_EV_REMOTE_FREE_BATCH, 1, 3, 0, 0x10000000, kSlab, 2, 1, 0);
  });
  const Report v2 = analyse([](Stream& s) {
    s.event(HK_EV_SLAB_RELEASE, 1, 3, HK_SLAB_RELEASE_EMPTIED, 0x10000000, kSlab);
    s.event(HK_EV_DRAIN, 1, HK_CLASS_NONE, HK_DRAIN_OVERFLOW, 5, 0, 40, 5);
    s.event(HK_EV_DRAIN, 1, HK_CLASS_NONE, HK_DRAIN_INTERVAL, 3, 0, 12, 0);
    s.event(HK_EV_DRAIN, 1, HK_CLASS_NONE, HK_DRAIN_TRIM, 1, 0, 1, 0);
    s.event(HK_EV_LARGE_REUSE, 1, HK_CLASS_NONE, 0, 0x20000000, 3 << 20, 1 << 20, 0, 3);
    s.event(HK_EV_REMOTE_FREE_BATCH, 1, 3, HK_REMOTE_SUMMED, 0x10000000, 4, 8, 4, 0);
  });
  for (const Report* r : {&v1, &v2}) {
    EXPECT_EQ(r->allocator.count(HK_EV_SLAB_EMPTY), 1u);
    EXPECT_EQ(r->allocator.count(HK_EV_SLAB_RELEASE), 1u);
    EXPECT_EQ(r->allocator.count(HK_EV_DRAIN), 9u);
    EXPECT_EQ(r->allocator.drain_by_reason.at(HK_DRAIN_OVERFLOW), 5u);
    EXPECT_EQ(r->allocator.drain_by_reason.at(HK_DRAIN_INTERVAL), 3u);
    EXPECT_EQ(r->allocator.drain_by_reason.at(HK_DRAIN_TRIM), 1u);
    EXPECT_EQ(r->allocator.drained_blocks, 53u);
    EXPECT_EQ(r->allocator.drain_emptied_slabs, 5u);
    EXPECT_EQ(r->allocator.count(HK_EV_LARGE_REUSE), 3u);
    EXPECT_EQ(r->allocator.count(HK_EV_REMOTE_FREE_BATCH), 4u);
  }
}

TEST(Diagnoses, SeedDrainOffRunReachesTheSeedsConclusion) {
  Report r = analyse([](Stream& s) { hk::synth::seed_drain_off(s, 200); });
  EXPECT_EQ(ids(r), (Ids{"lru_unreachable", "accounting_gap", "stuck_slabs"}));
  const Diagnosis& d = find(r, "lru_unreachable");
  EXPECT_EQ(d.severity, "critical");
  EXPECT_EQ(evidence(d, "lru_miss"), 200);
  EXPECT_EQ(evidence(d, "lru_push"), 0);
  EXPECT_NE(d.summary.find("200 LRU lookups, 0 pushes, 0 SuperSlabs freed"), std::string::npos) << d.summary;
  EXPECT_NE(d.fix.find("HAKMEM_TLS_SLL_DRAIN_INTERVAL=1024"), std::string::npos);
  const Diagnosis& g = find(r, "accounting_gap");
  EXPECT_EQ(evidence(g, "parked_blocks"), 200 * 512 * 3 / 4);
  EXPECT_EQ(evidence(g, "gap_snapshots"), 200);
}

// Drain on, a thread cache holding a bulk: more blocks parked than one drain
// interval, most of what the slabs count used, in every snapshot. Within the
// caches' logged capacity that is the design (the SLL grew for the bulk);
// above it, or from a writer that does not log the capacity, it is a gap.
TEST(Diagnoses, ABulkParkedWithinTheCachesCapacityIsNoGap) {
  const auto run = [](uint64_t capacity) {
    return analyse([&](Stream& s) {
      s.config(1024, 64);
      for (int i = 0; i < 6; ++i) s.snapshot(14, 448, 2000, 1500, capacity);
    });
  };
  EXPECT_EQ(ids(run(4096)), Ids{});
  EXPECT_EQ(ids(run(1024)), Ids{"accounting_gap"});
  EXPECT_EQ(ids(run(0)), Ids{"accounting_gap"});
}

TEST(Diagnoses, HealthyRunRaisesNothing) {
  Report r = analyse([](Stream& s) { hk::synth::healthy(s, 300); });
  EXPECT_EQ(ids(r), Ids{});
  EXPECT_GT(r.allocator.lru_hit_rate(), 0.9);
}

TEST(Diagnoses, LruOffChurnIsSuperSlabChurnOnly) {
  Report r = analyse([](Stream& s) { hk::synth::superslab_churn(s, 100); });
  EXPECT_EQ(ids(r), Ids{"superslab_churn"});
  const Diagnosis& d = find(r, "superslab_churn");
  EXPECT_EQ(evidence(d, "superslab_unmap"), 100);
  EXPECT_EQ(evidence(d, "remaps_within_window"), 99);
  EXPECT_NE(d.fix.find("HAKMEM_SS_LRU_CAP"), std::string::npos);
}

TEST(Diagnoses, ChurnSpreadOverMinutesIsNotChurn) {
  Report r = analyse([](Stream& s) {
    s.config(1024, 0);
    for (int i = 0; i < 100; ++i) {
      s.ss_map(1, 0x100000, 1 << 20, 1);
      s.ss_unmap(1, 0x100000, 1 << 20, HK_SS_LRU_OFF, 0);
      s.advance(2'000'000'000);
    }
  });
  EXPECT_EQ(ids(r), Ids{});
}

TEST(Diagnoses, LargeBlockChurn) {
  Report r = analyse([](Stream& s) {
    for (int i = 0; i < 50; ++i) {
      s.os_map(1, 0x500000, 8 << 20, HK_OS_LARGE);
      s.event(HK_EV_LARGE_MAP, 1, HK_CLASS_NONE, 0, 0x500000, 8 << 20, 8 << 20, 0);
      s.os_unmap(1, 0x500000, 8 << 20, HK_OS_LARGE);
      s.event(HK_EV_LARGE_UNMAP, 1, HK_CLASS_NONE, 0, 0x500000, 8 << 20, 8 << 20, 0);
    }
  });
  EXPECT_EQ(ids(r), Ids{"large_block_churn"});
  EXPECT_EQ(evidence(find(r, "large_block_churn"), "remaps_within_window"), 49);
}

TEST(Diagnoses, AlignmentTrimOfLargeBlocks) {
  Report r = analyse([](Stream& s) {
    for (uint64_t i = 0; i < 40; ++i) {
      const uint64_t base = 0x10000000 + i * (16 << 20);
      s.os_map(1, base, 8 << 20, HK_OS_LARGE);
      s.os_unmap(1, base, 1 << 20, HK_OS_ALIGN_TRIM);
      s.event(HK_EV_LARGE_MAP, 1, HK_CLASS_NONE, 0, base + (1 << 20), 4 << 20, 4 << 20, 0);
    }
  });
  EXPECT_EQ(ids(r), Ids{"alignment_trim"});
  EXPECT_EQ(evidence(find(r, "alignment_trim"), "align_trims"), 40);
}

TEST(Diagnoses, ForeignMmapChurnNamesTheCallSite) {
  Report r = analyse([](Stream& s) {
    for (uint64_t i = 0; i < 100; ++i) {
      s.foreign_mmap(1, 0x40000000, 1 << 20, 0x401234);
      s.foreign_munmap(1, 0x40000000, 1 << 20, 0x401250);
    }
  });
  EXPECT_EQ(ids(r), Ids{"foreign_mmap_churn"});
  const Diagnosis& d = find(r, "foreign_mmap_churn");
  EXPECT_EQ(evidence(d, "pairs"), 100);
  EXPECT_EQ(evidence(d, "top_site_address"), 0x401234);
  EXPECT_NE(d.summary.find("not symbolized"), std::string::npos) << d.summary;
}

TEST(Diagnoses, BrkTrimChurn) {
  Report r = analyse([](Stream& s) {
    s.brk(1, 0x600000);
    for (int i = 0; i < 40; ++i) {
      s.brk(1, 0x700000);
      s.brk(1, 0x600000);
    }
  });
  EXPECT_EQ(ids(r), Ids{"brk_trim_churn"});
  EXPECT_EQ(evidence(find(r, "brk_trim_churn"), "shrinks"), 40);
  EXPECT_EQ(evidence(find(r, "brk_trim_churn"), "cycles"), 39);
}

TEST(Diagnoses, DroppedEventsAndJoinLossAccounting) {
  Report r = analyse(
      [](Stream& s) {
        s.ss_map(1, 0x100000, 1 << 20, 1);
        s.lose_syscall();
        s.os_map(1, 0x200000, 1 << 20, HK_OS_SUPERSLAB, false);
        s.ss_map(1, 0x300000, 1 << 20, 2);
      },
      [](Analysis& a) {
        hk_trace_ring_info info{};
        info.pid = 4242;
        info.state = 2;
        info.dropped = 5;
        a.add_ring(info);
      });
  EXPECT_EQ(ids(r), Ids{"dropped_events"});
  EXPECT_EQ(r.drops.kernel_seq_gaps, 1u);
  EXPECT_EQ(r.join.matched, 2u);
  EXPECT_EQ(r.join.lost_to_drops, 1u);
  EXPECT_EQ(r.join.allocator_only, 0u);
  EXPECT_EQ(evidence(find(r, "dropped_events"), "ring_dropped"), 5);
}

TEST(Diagnoses, IdsAreStableAndComplete) {
  EXPECT_EQ(diagnosis_ids(), (Ids{"lru_unreachable", "accounting_gap", "stuck_slabs", "superslab_churn",
                                  "large_block_churn", "alignment_trim", "foreign_mmap_churn", "madvise_churn",
                                  "brk_trim_churn", "memory_retained", "dropped_events"}));
}
