// Streaming summary of a set of durations (or any non-negative quantity).
//
// Contract: used by the analysis on one thread. Memory is constant (a fixed
// log-linear histogram: each power of two split into 16 buckets, 8 KiB), so
// summaries over billions of samples cost the same as over ten. A quantile
// is the middle of its bucket, so it is within 1/32 (3%) of a real sample
// value; values below 32 are exact. (A log2 histogram's bucket bound, such
// as 268435455 ns = 2^28-1, read as a measured value: it was not one.)
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
  // The middle of the bucket holding the q-quantile, clamped to the
  // observed range so a single sample reports itself.
  uint64_t quantile(double q) const {
    if (!count_) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < buckets_.size(); ++b) {
      seen += buckets_[b];
      if (seen >= rank) return std::clamp(middle(b), min_, max_);
    }
    return max_;
  }

 private:
  static constexpr unsigned kSubBits = 4;  // 16 buckets per power of two
  static constexpr uint64_t kLinear = uint64_t{1} << (kSubBits + 1);  // exact below this
  // Values below kLinear have a bucket each; above, the bucket is the
  // power of two and the next kSubBits bits under the leading one.
  static size_t bucket(uint64_t v) {
    if (v < kLinear) return static_cast<size_t>(v);
    const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 1 - kSubBits;
    return static_cast<size_t>(kLinear + (uint64_t{shift - 1} << kSubBits) + ((v >> shift) & ((1u << kSubBits) - 1)));
  }
  static uint64_t middle(size_t b) {
    if (b < kLinear) return b;
    const uint64_t i = b - kLinear;
    const unsigned shift = static_cast<unsigned>(i >> kSubBits) + 1;
    const uint64_t low = ((uint64_t{1} << kSubBits) | (i & ((1u << kSubBits) - 1))) << shift;
    return low + (uint64_t{1} << (shift - 1));
  }
  uint64_t count_ = 0, total_ = 0, max_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  std::array<uint64_t, kLinear + (64 - kSubBits - 1) * (uint64_t{1} << kSubBits)> buckets_{};
};

}  // namespace hk::analyze
