#include "analysis/time_series.h"

#include <algorithm>
#include <limits>

namespace hk::analyze {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Combines two samples (or two buckets) of one series; NaN is "none".
double combine(TimeSeries::Kind kind, double a, double b) {
  if (std::isnan(a)) return b;
  if (std::isnan(b)) return a;
  return kind == TimeSeries::Kind::count ? a + b : std::max(a, b);
}
}  // namespace

void TimeSeries::start_at(uint64_t t0_ns) {
  if (started_ || used_ > 0) return;
  t0_ = t0_ns;
  started_ = true;
}

TimeSeries::Id TimeSeries::series(const std::string& name, Kind kind) {
  if (Id id = find(name); id != kNone) return id;
  infos_.push_back({name, kind});
  data_.emplace_back(kMaxBuckets, kNaN);
  last_.emplace_back(kind == Kind::level ? kMaxBuckets : 0, kNaN);
  samples_.push_back(0);
  return infos_.size() - 1;
}

TimeSeries::Id TimeSeries::find(const std::string& name) const {
  for (size_t i = 0; i < infos_.size(); ++i)
    if (infos_[i].name == name) return i;
  return kNone;
}

size_t TimeSeries::bucket_of(uint64_t ts_ns) {
  if (ts_ns >= last_lo_ && ts_ns < last_hi_) return last_b_;
  if (!started_) start_at(ts_ns);
  const uint64_t off = ts_ns > t0_ ? ts_ns - t0_ : 0;
  while (off / width_ >= kMaxBuckets) coarsen();
  const size_t b = static_cast<size_t>(off / width_);
  used_ = std::max(used_, b + 1);
  if (ts_ns >= t0_) {
    last_b_ = b;
    last_lo_ = t0_ + b * width_;
    last_hi_ = last_lo_ + width_;
  }
  return b;
}

void TimeSeries::coarsen() {
  for (size_t s = 0; s < data_.size(); ++s) {
    std::vector<double>& d = data_[s];
    for (size_t i = 0; i < kMaxBuckets / 2; ++i) d[i] = combine(infos_[s].kind, d[2 * i], d[2 * i + 1]);
    std::fill(d.begin() + kMaxBuckets / 2, d.end(), kNaN);
    std::vector<double>& l = last_[s];
    if (l.empty()) continue;
    for (size_t i = 0; i < kMaxBuckets / 2; ++i) l[i] = std::isnan(l[2 * i + 1]) ? l[2 * i] : l[2 * i + 1];
    std::fill(l.begin() + kMaxBuckets / 2, l.end(), kNaN);
  }
  width_ *= 2;
  used_ = (used_ + 1) / 2;
  last_lo_ = 1, last_hi_ = 0;  // the buckets moved
}

void TimeSeries::add(Id id, uint64_t ts_ns, double v) {
  if (id >= infos_.size()) return;
  const size_t b = bucket_of(ts_ns);
  data_[id][b] = combine(infos_[id].kind, data_[id][b], v);
  if (!last_[id].empty()) last_[id][b] = v;
  ++samples_[id];
}

void TimeSeries::extend_to(uint64_t ts_ns) {
  if (started_) bucket_of(ts_ns);
}

std::vector<double> TimeSeries::values(Id id) const {
  std::vector<double> out(data_.at(id).begin(), data_.at(id).begin() + static_cast<ptrdiff_t>(used_));
  const Kind kind = infos_[id].kind;
  double last = kNaN;
  for (size_t i = 0; i < out.size(); ++i) {
    double& v = out[i];
    if (kind == Kind::count && std::isnan(v)) v = 0;
    if (kind == Kind::level) {
      if (std::isnan(v)) v = last;
      else last = last_[id][i];
    }
  }
  return out;
}

}  // namespace hk::analyze
