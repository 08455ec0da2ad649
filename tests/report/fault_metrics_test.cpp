// FaultMetrics, Retention, allocator knobs and DurationStats' quantiles on
// synthetic records: each test states the numbers a real recording of the
// same shape must produce.
#include "analysis/allocator_knobs.h"
#include "analysis/duration_stats.h"
#include "analysis/fault_metrics.h"
#include "analysis/retention.h"
#include "synthetic.h"

#include <gtest/gtest.h>

namespace {

using namespace hk::analyze;
using hk::synth::allocator_event;
using hk::synth::syscall_record;

constexpr uint32_t kPid = 7;
constexpr uint64_t kMs = 1'000'000;

// A run of n faults, `timed` of them (all by default) taking timed_ns.
hk_sys_record faults(uint64_t seq, uint64_t ts, uint64_t lo, uint64_t n, uint64_t timed_ns,
                     uint64_t timed = 0) {
  hk_sys_record r{};
  r.seq = seq;
  r.enter_ns = ts;
  r.exit_ns = ts + 1000;
  r.pid = kPid;
  r.tid = kPid;
  r.kind = HK_SYS_FAULTS;
  r.args[0] = lo;
  r.args[1] = lo + (n - 1) * 4096;
  r.args[2] = n;
  r.args[3] = timed ? timed : n;
  r.args[4] = timed_ns;
  return r;
}

hk_sys_record call(uint64_t seq, uint64_t ts, uint32_t nr, uint64_t a0, uint64_t a1, int64_t ret,
                   uint64_t a2 = 0, uint64_t caller = 0x1000) {
  hk_sys_record r = syscall_record(seq, kPid, kPid, nr, a0, a1, ret, ts, ts + 1000);
  r.args[2] = a2;
  r.caller = caller;
  return r;
}

// The probe times a run's first fault and one in 8 after it: the time of
// all of them is the timed ones' scaled by faults / timed.
TEST(FaultMetrics, TheTimedFaultsTimeScalesToAllOfThem) {
  FaultMetrics f;
  f.add(faults(1, 1 * kMs, 0x1000, 16, 4000, 2));   // 2 of 16 timed: 32 us
  f.add(faults(2, 2 * kMs, 0x400000, 1, 900, 1));   // the only fault, timed
  f.add(faults(3, 3 * kMs, 0x800000, 8, 0, 0));     // all timed, 0 ns
  f.finish();
  const FaultCost& all = f.total();
  EXPECT_EQ(all.faults, 25u);
  EXPECT_EQ(all.timed, 11u);
  EXPECT_EQ(all.timed_ns, 4900u);
  EXPECT_EQ(all.ns(), 11136u);  // 4900 * 25 / 11, rounded
  FaultCost none;
  none.add(5, 0, 0);
  EXPECT_EQ(none.ns(), 0u) << "nothing timed, nothing to scale";
}

TEST(FaultMetrics, FaultsInAMappingGoToWhoeverTheJoinSaysMadeIt) {
  FaultMetrics f;
  const uint64_t a = 0x7f0000000000, b = 0x7f0000400000, len = 1 << 20;
  const hk_sys_record ma = call(1, 1 * kMs, HK_NR_MMAP, 0, len, int64_t(a), 0, 0xaaa);
  const hk_sys_record mb = call(2, 2 * kMs, HK_NR_MMAP, 0, len, int64_t(b), 0, 0xbbb);
  f.add(ma);
  f.add(mb);
  f.add(faults(3, 3 * kMs, a, 256, 256000));
  f.add(faults(4, 4 * kMs, b, 10, 5000));
  f.add(faults(5, 5 * kMs, 0x1000, 3, 300));  // in no mapping of the trace
  f.add(call(6, 6 * kMs, HK_NR_MUNMAP, a, len, 0));
  // The join rules after the munmap: the faults wait for it.
  EXPECT_EQ(f.by_target(FaultTarget::superslab).faults, 0u);
  f.classify(ma, true, HK_OS_SUPERSLAB);
  f.classify(mb, false, 0);
  f.finish();
  EXPECT_EQ(f.total().faults, 269u);
  EXPECT_EQ(f.by_target(FaultTarget::superslab).faults, 256u);
  EXPECT_EQ(f.by_target(FaultTarget::superslab).timed_ns, 256000u);
  EXPECT_EQ(f.by_target(FaultTarget::foreign).faults, 10u);
  EXPECT_EQ(f.by_target(FaultTarget::other).faults, 3u);
  EXPECT_EQ(f.site_faults(kPid, 0xbbb).faults, 10u);
  EXPECT_EQ(f.allocator_churn_faults().faults, 256u);  // unmapped 5 ms after its mmap
  EXPECT_EQ(f.churn_faults().faults, 0u);              // b lived to the end
}

TEST(FaultMetrics, FaultsSoonAfterMadviseAreRefaultsOfItsCallSite) {
  FaultMetrics f;
  const uint64_t a = 0x7f0000000000, len = 1 << 20;
  f.add(call(1, 1 * kMs, HK_NR_MMAP, 0, len, int64_t(a)));
  f.add(faults(2, 2 * kMs, a, 256, 1000));                              // first touch
  f.add(call(3, 3 * kMs, HK_NR_MADVISE, a, len, 0, 4 /* DONTNEED */, 0xd0));
  f.add(faults(4, 4 * kMs, a, 256, 2000));                              // refault
  f.add(call(5, 5 * kMs, HK_NR_MADVISE, a, len, 0, 3 /* WILLNEED */, 0xd1));
  f.add(call(6, 6 * kMs, HK_NR_MADVISE, a, len, 0, 8 /* FREE */, 0xd0));
  f.add(faults(7, 7 * kMs + FaultMetrics::kRefaultWindowNs, a, 256, 3000));  // too late
  f.finish();
  EXPECT_EQ(f.madvise_calls(), 2u);  // WILLNEED gives nothing back
  EXPECT_EQ(f.madvise_bytes(), 2 * len);
  EXPECT_EQ(f.refaults().faults, 256u);
  EXPECT_EQ(f.refaults().timed_ns, 2000u);
  const auto sites = f.advise_sites();
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0].caller, 0xd0u);
  EXPECT_EQ(sites[0].calls, 2u);
  EXPECT_EQ(sites[0].refaults.faults, 256u);
}

TEST(FaultMetrics, BrkHeapFaultsAfterATrimAreRegrowth) {
  FaultMetrics f;
  const uint64_t start = 0x555500000000, mib = 1 << 20;
  f.add(call(1, 1 * kMs, HK_NR_BRK, 0, 0, int64_t(start)));
  f.add(call(2, 2 * kMs, HK_NR_BRK, start + 8 * mib, 0, int64_t(start + 8 * mib)));
  f.add(faults(3, 3 * kMs, start, 100, 0));            // first fill
  f.add(call(4, 4 * kMs, HK_NR_BRK, start + mib, 0, int64_t(start + mib)));   // trim
  f.add(call(5, 5 * kMs, HK_NR_BRK, start + 8 * mib, 0, int64_t(start + 8 * mib)));  // regrow
  f.add(faults(6, 6 * kMs, start + 2 * mib, 50, 0));   // trimmed memory again
  f.add(faults(7, 7 * kMs, start + 4096, 5, 0));       // below the trim: kept
  f.finish();
  EXPECT_EQ(f.by_target(FaultTarget::brk).faults, 155u);
  EXPECT_EQ(f.brk_regrow_faults().faults, 50u);
}

TEST(FaultMetrics, RssKeepsPeakFirstLastAndABoundedCurve) {
  FaultMetrics f;
  for (uint64_t i = 0; i < 1000; ++i) {
    hk_sys_record r{};
    r.kind = HK_SYS_RSS;
    r.pid = kPid;
    r.exit_ns = i * kMs;
    r.args[1] = i == 500 ? 9000 : 100 + i;  // anon pages
    r.args[4] = i == 700 ? 12000 : 0;       // a peak between two samples
    f.add(r);
  }
  const RssSeries& s = f.rss();
  EXPECT_EQ(s.samples, 1000u);
  EXPECT_EQ(s.first.pages, 100u);
  EXPECT_EQ(s.last.pages, 1099u);
  EXPECT_EQ(s.peak.pages, 12000u);
  EXPECT_LT(s.curve.size(), 2 * FaultMetrics::kRssCurvePoints);
  EXPECT_GE(s.curve.size(), FaultMetrics::kRssCurvePoints);
}

// A snapshot set: used/parked per class, as the preload logs them.
void snapshot_set(Retention& ret, const AllocatorMetrics& a, uint64_t ts, uint64_t used, uint64_t parked) {
  ret.add(kPid, allocator_event(ts, HK_EV_SNAPSHOT, kPid, 3, 0, 0, 256, used, parked, used - parked), a);
  ret.add(kPid, allocator_event(ts + 1000, HK_EV_SNAPSHOT, kPid, 9, 0, 0, 1024, used / 4, 0, used / 4), a);
}

TEST(Retention, FreedMemoryKeptMappedUntilTheEndIsOnePhase) {
  AllocatorMetrics a;
  a.add(kPid, allocator_event(0, HK_EV_OS_MMAP, kPid, 0, HK_OS_SUPERSLAB, 0x7f0000000000, 64u << 20, 0x7f0000000000));
  Retention ret;
  snapshot_set(ret, a, 1 * kMs, 200000, 0);     // 51 MiB live at the peak
  snapshot_set(ret, a, 100 * kMs, 8000, 1000);  // most freed, still mapped
  snapshot_set(ret, a, 400 * kMs, 8000, 1000);
  ret.finish(a);
  const RetainedPhase& ph = ret.longest();
  EXPECT_EQ(ph.at.ts_ns, 100 * kMs);
  EXPECT_EQ(ph.duration_ns(), 300 * kMs + 1000);
  EXPECT_EQ(ph.peak_live, 200000u * 256 + 50000u * 1024);
  EXPECT_EQ(ph.at.parked, 1000u * 256);
  EXPECT_EQ(ph.at.mapped, 64u << 20);
}

TEST(Retention, MemoryWantedAgainEndsThePhase) {
  AllocatorMetrics a;
  a.add(kPid, allocator_event(0, HK_EV_OS_MMAP, kPid, 0, HK_OS_SUPERSLAB, 0x7f0000000000, 64u << 20, 0x7f0000000000));
  Retention ret;
  for (uint64_t round = 0; round < 4; ++round) {
    snapshot_set(ret, a, (round * 100 + 1) * kMs, 200000, 0);
    snapshot_set(ret, a, (round * 100 + 50) * kMs, 100, 0);
  }
  ret.finish(a);
  EXPECT_LE(ret.longest().duration_ns(), 51 * kMs);  // no phase outlives a refill
}

TEST(AllocatorKnobs, TheLibraryOfTheCallSiteNamesTheKnob) {
  EXPECT_EQ(owner_of("pages_purge_forced+0x1c (libjemalloc.so.2)"), SiteOwner::jemalloc);
  EXPECT_EQ(owner_of("(libmimalloc.so.2.0+0x1234)"), SiteOwner::mimalloc);
  EXPECT_EQ(owner_of("sysmalloc+0x3a1 (libc.so.6)"), SiteOwner::glibc);
  EXPECT_EQ(owner_of("main+0x60 (madvise_churn)"), SiteOwner::program);
  EXPECT_EQ(owner_of(""), SiteOwner::program);
  EXPECT_NE(purge_fix(SiteOwner::jemalloc).find("dirty_decay_ms"), std::string::npos);
  EXPECT_NE(purge_fix(SiteOwner::mimalloc).find("MIMALLOC_PURGE_DELAY"), std::string::npos);
  EXPECT_NE(purge_fix(SiteOwner::tcmalloc).find("TCMALLOC_RELEASE_RATE"), std::string::npos);
  EXPECT_NE(mmap_churn_fix(SiteOwner::glibc).find("MALLOC_MMAP_THRESHOLD_"), std::string::npos);
  EXPECT_NE(brk_trim_fix().find("MALLOC_TRIM_THRESHOLD_"), std::string::npos);
}

TEST(DurationStats, QuantilesAreMeasuredValuesNotBucketBounds) {
  DurationStats d;
  for (uint64_t v : {150'000'000ull, 160'000'000ull, 170'000'000ull}) d.add(v);
  const uint64_t med = d.quantile(0.5);
  // The old log2 histogram said 268435455 (2^28 - 1) here.
  EXPECT_NEAR(double(med), 160e6, 160e6 / 32);
  DurationStats small;
  for (uint64_t v = 0; v < 31; ++v) small.add(v);
  EXPECT_EQ(small.quantile(0.5), 15u);  // exact below 32
}

}  // namespace
