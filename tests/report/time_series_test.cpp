// TimeSeries: bounded points whatever the trace's length, counts that add
// up across coarsening, levels that keep their peaks and carry forward.
#include "analysis/time_series.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

using hk::analyze::TimeSeries;
using Kind = TimeSeries::Kind;

TEST(TimeSeries, StaysWithinItsBucketsAndKeepsCountsExact) {
  TimeSeries ts;
  ts.start_at(1000);
  const auto calls = ts.series("calls", Kind::count);
  // 10 million samples over 100 s: the grid coarsens many times.
  const uint64_t n = 10'000'000;
  for (uint64_t i = 0; i < n; ++i) ts.add(calls, 1000 + i * 10'000, 1);
  EXPECT_LE(ts.buckets(), TimeSeries::kMaxBuckets);
  EXPECT_GT(ts.buckets(), TimeSeries::kMaxBuckets / 2);
  const auto v = ts.values(calls);
  EXPECT_EQ(std::accumulate(v.begin(), v.end(), 0.0), double(n));
  EXPECT_GE(ts.width_ns() * ts.buckets(), (n - 1) * 10'000);
}

TEST(TimeSeries, ALevelKeepsItsPeakAndCarriesItsLastValueForward) {
  TimeSeries ts;
  ts.start_at(0);
  const auto lvl = ts.series("mapped", Kind::level);
  ts.add(lvl, 5, 10);       // bucket 0: 10, then a peak of 99, ends at 3
  ts.add(lvl, 6, 99);
  ts.add(lvl, 7, 3);
  ts.extend_to(5 * TimeSeries::kInitialWidthNs);
  const auto v = ts.values(lvl);
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v[0], 99);  // the peak survives
  for (size_t i = 1; i < v.size(); ++i) EXPECT_EQ(v[i], 3) << i;  // then the last value
}

TEST(TimeSeries, APeakIsAGapWhereNothingHappened) {
  TimeSeries ts;
  ts.start_at(0);
  const auto p = ts.series("max_ns", Kind::peak);
  ts.add(p, 0, 4);
  ts.add(p, 3 * TimeSeries::kInitialWidthNs, 7);
  const auto v = ts.values(p);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0], 4);
  EXPECT_TRUE(std::isnan(v[1]));
  EXPECT_EQ(v[3], 7);
  EXPECT_FALSE(ts.has_data(ts.series("never", Kind::count)));
}

TEST(TimeSeries, CoarseningMergesLevelsByTheirLastValue) {
  TimeSeries ts;
  ts.start_at(0);
  const auto lvl = ts.series("lru", Kind::level);
  ts.add(lvl, 0, 8);
  ts.add(lvl, TimeSeries::kInitialWidthNs, 1);  // bucket 1 ends at 1
  // Far past the grid: buckets 0 and 1 merge; the gap after them must show
  // the last value (1), not the merged bucket's peak (8).
  ts.add(lvl, 3 * TimeSeries::kMaxBuckets * TimeSeries::kInitialWidthNs, 5);
  const auto v = ts.values(lvl);
  EXPECT_EQ(v.front(), 8);
  EXPECT_EQ(v[v.size() / 2], 1);
  EXPECT_EQ(v.back(), 5);
}
