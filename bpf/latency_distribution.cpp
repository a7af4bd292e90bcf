#include "latency_distribution.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace intr::trace {
namespace {

constexpr unsigned exact_bits = 7;  // values below 2^7 get a bucket each
constexpr std::uint64_t exact_limit = std::uint64_t{1} << exact_bits;
constexpr unsigned octave_bits = exact_bits - 1;  // 64 buckets per power of two
constexpr std::uint64_t per_octave = std::uint64_t{1} << octave_bits;

std::size_t bucket_of(std::uint64_t value) {
  if (value < exact_limit) return static_cast<std::size_t>(value);
  unsigned exponent = static_cast<unsigned>(std::bit_width(value)) - 1;  // >= exact_bits
  unsigned shift = exponent - octave_bits;
  std::uint64_t mantissa = (value >> shift) - per_octave;  // in [0, 64)
  return static_cast<std::size_t>(exact_limit + (exponent - exact_bits) * per_octave + mantissa);
}

// The largest value that falls into `bucket`.
std::uint64_t upper_bound_of(std::size_t bucket) {
  if (bucket < exact_limit) return bucket;
  std::uint64_t offset = bucket - exact_limit;
  unsigned exponent = static_cast<unsigned>(offset / per_octave) + exact_bits;
  std::uint64_t mantissa = offset % per_octave + per_octave;
  unsigned shift = exponent - octave_bits;
  std::uint64_t low = mantissa << shift;
  std::uint64_t width = std::uint64_t{1} << shift;
  return low + (width - 1);
}

}  // namespace

void LatencyDistribution::add(std::uint64_t nanoseconds) {
  std::size_t bucket = bucket_of(nanoseconds);
  if (bucket >= buckets_.size()) buckets_.resize(bucket + 1, 0);
  ++buckets_[bucket];
  if (count_ == 0 || nanoseconds < min_) min_ = nanoseconds;
  max_ = std::max(max_, nanoseconds);
  ++count_;
  sum_ = nanoseconds > std::numeric_limits<std::uint64_t>::max() - sum_ ? std::numeric_limits<std::uint64_t>::max()
                                                                         : sum_ + nanoseconds;
}

void LatencyDistribution::merge(const LatencyDistribution& other) {
  if (other.count_ == 0) return;
  if (other.buckets_.size() > buckets_.size()) buckets_.resize(other.buckets_.size(), 0);
  for (std::size_t i = 0; i < other.buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ = other.sum_ > std::numeric_limits<std::uint64_t>::max() - sum_ ? std::numeric_limits<std::uint64_t>::max()
                                                                       : sum_ + other.sum_;
}

std::uint64_t LatencyDistribution::value_at(double quantile) const {
  if (count_ == 0) return 0;
  quantile = std::clamp(quantile, 0.0, 1.0);
  // The rank (1-based) of the requested value among the sorted values.
  auto rank = static_cast<std::uint64_t>(std::ceil(quantile * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t bucket = 0; bucket < buckets_.size(); ++bucket) {
    seen += buckets_[bucket];
    if (seen >= rank) return std::clamp(upper_bound_of(bucket), min_, max_);
  }
  return max_;
}

}  // namespace intr::trace
