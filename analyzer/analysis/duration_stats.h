// Streaming summary of a set of durations (or any non-negative quantity).
//
// Contract: used by the analysis on one thread. Memory is constant (a fixed
// log2 histogram), so summaries over billions of samples cost the same as
// over ten; quantiles are therefore approximate to within a factor of two,
// which is all a report needs to say "microseconds, not seconds".
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>

namespace hk::analyze {

class DurationStats {
 public:
  void add(uint64_t v) {
    ++count_;
    total_ += v;
    max_ = std::max(max_, v);
    min_ = std::min(min_, v);
    ++buckets_[bucket(v)];
  }
  uint64_t count() const { return count_; }
  uint64_t total() const { return total_; }
  uint64_t max() const { return count_ ? max_ : 0; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t mean() const { return count_ ? total_ / count_ : 0; }
  // Upper bound of the log2 bucket holding the q-quantile, clamped to the
  // observed range so a single sample reports itself.
  uint64_t quantile(double q) const {
    if (!count_) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < buckets_.size(); ++b) {
      seen += buckets_[b];
      if (seen >= rank) {
        uint64_t upper = b == 0 ? 0 : (b >= 64 ? std::numeric_limits<uint64_t>::max()
                                               : (uint64_t{1} << b) - 1);
        return std::clamp(upper, min_, max_);
      }
    }
    return max_;
  }

 private:
  static size_t bucket(uint64_t v) { return v == 0 ? 0 : std::bit_width(v); }
  uint64_t count_ = 0, total_ = 0, max_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  std::array<uint64_t, 65> buckets_{};
};

}  // namespace hk::analyze
