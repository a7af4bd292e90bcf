// A distribution of latencies with bounded memory, for percentiles.
//
// Values are counted in log-linear buckets: exact below 128 ns, then 64
// buckets per power of two, so a bucket spans at most 1/64 of its lower
// bound. value_at() returns the upper bound of the bucket that holds the
// requested rank, clamped to the exact minimum and maximum, so a reported
// percentile is never below the exact one and at most 1.6% above it. Memory
// is about 30 KiB per distribution, however many values it counts.
#pragma once

#include <cstdint>
#include <vector>

namespace intr::trace {

class LatencyDistribution {
 public:
  void add(std::uint64_t nanoseconds);
  void merge(const LatencyDistribution& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  // The sum of all values, for the mean; saturates at UINT64_MAX.
  std::uint64_t sum() const { return sum_; }

  // The smallest value v such that at least `quantile` of the values are
  // <= v, within the bucket precision above. 0 when empty. `quantile` is
  // clamped to [0, 1].
  std::uint64_t value_at(double quantile) const;

 private:
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;
};

}  // namespace intr::trace
