// TimeSeries: a set of series over one shared time grid that coarsens
// itself, so that a trace of any length ends up as at most kMaxBuckets
// points per series: what a screen can show, collected in one pass.
//
// Contract: one thread (the analysis) adds samples in roughly increasing
// time; a sample earlier than the grid's start lands in the first bucket.
// When a sample falls past the last bucket, neighbouring buckets are merged
// pairwise and the bucket width doubles, as often as needed; so the grid
// always spans the samples seen with between kMaxBuckets/2 and kMaxBuckets
// buckets (fewer only when the trace is shorter than that many initial
// widths). Memory is kMaxBuckets doubles per series, whatever the trace's
// length. After the analysis the set is plain data, read-only, copyable.
//
// A series is one of three kinds, which says how samples in one bucket and
// two merged buckets combine and what an empty bucket means:
//   count: samples add up (calls, nanoseconds); empty is 0.
//   level: a quantity that stays until it changes (mapped bytes, the LRU's
//          length); a bucket shows its highest sample, so a short peak
//          survives downsampling, and an empty bucket repeats the last
//          sample before it (nothing known before the first sample).
//   peak:  the highest sample (a call's latency); empty means none.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hk::analyze {

class TimeSeries {
 public:
  enum class Kind : uint8_t { count, level, peak };
  // 1024 points per series: one per pixel of a chart as wide as a laptop's
  // screen; dygraphs draws that many without effort.
  static constexpr size_t kMaxBuckets = 1024;
  // 10 us: a short trace (tens of ms) still gets hundreds of points.
  static constexpr uint64_t kInitialWidthNs = 10'000;

  struct Info {
    std::string name;
    Kind kind;
  };
  using Id = size_t;
  static constexpr Id kNone = SIZE_MAX;

  // The grid starts at the recording's start (or the first sample).
  void start_at(uint64_t t0_ns);
  // Registers a series (idempotent by name) and returns its id.
  Id series(const std::string& name, Kind kind);
  Id find(const std::string& name) const;
  void add(Id id, uint64_t ts_ns, double v);

  uint64_t start_ns() const { return t0_; }
  uint64_t width_ns() const { return width_; }
  // Buckets spanned by the samples (and by extend_to()).
  size_t buckets() const { return used_; }
  // Makes the grid reach t (the end of the recording), so that the charts
  // run to the end even when the last samples came earlier.
  void extend_to(uint64_t ts_ns);
  const std::vector<Info>& infos() const { return infos_; }
  bool has_data(Id id) const { return id < infos_.size() && samples_[id] > 0; }
  // The series' value per bucket, buckets() of them; NaN where there is no
  // value (a level before its first sample, a peak bucket without one).
  std::vector<double> values(Id id) const;

 private:
  size_t bucket_of(uint64_t ts_ns);
  void coarsen();

  uint64_t t0_ = 0;
  bool started_ = false;
  uint64_t width_ = kInitialWidthNs;
  size_t used_ = 0;
  // The bucket of the previous sample, [lo, hi) in ns: samples come in
  // time order, so most land there and skip the division.
  size_t last_b_ = 0;
  uint64_t last_lo_ = 1, last_hi_ = 0;
  std::vector<Info> infos_;
  std::vector<std::vector<double>> data_;  // kMaxBuckets each; NaN = no sample
  std::vector<std::vector<double>> last_;  // level series: the bucket's last sample
  std::vector<uint64_t> samples_;
};

}  // namespace hk::analyze
