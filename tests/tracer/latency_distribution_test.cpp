// LatencyDistribution: percentiles within the documented bucket precision.
#include <latency_distribution.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using intr::trace::LatencyDistribution;

namespace {

// The nearest-rank value of sorted `values` for `quantile`.
std::uint64_t exact_value_at(const std::vector<std::uint64_t>& values, double quantile) {
  auto rank = static_cast<std::size_t>(std::ceil(quantile * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

}  // namespace

TEST_CASE("distribution empty reports zeros") {
  LatencyDistribution distribution;
  CHECK(distribution.count() == 0);
  CHECK(distribution.min() == 0);
  CHECK(distribution.max() == 0);
  CHECK(distribution.value_at(0.5) == 0);
}

TEST_CASE("distribution small values are exact") {
  LatencyDistribution distribution;
  for (std::uint64_t value = 0; value < 100; ++value) distribution.add(value);
  CHECK(distribution.count() == 100);
  CHECK(distribution.min() == 0);
  CHECK(distribution.max() == 99);
  CHECK(distribution.value_at(0.5) == 49);
  CHECK(distribution.value_at(0.99) == 98);
  CHECK(distribution.value_at(1.0) == 99);
}

TEST_CASE("distribution percentiles within one sixty-fourth") {
  std::mt19937_64 random(12345);
  std::lognormal_distribution<double> latency(9.0, 2.0);  // around 8 us, with a long tail
  LatencyDistribution distribution;
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 20000; ++i) {
    auto value = static_cast<std::uint64_t>(latency(random));
    values.push_back(value);
    distribution.add(value);
  }
  std::sort(values.begin(), values.end());
  for (double quantile : {0.5, 0.9, 0.99, 0.999}) {
    INFO("quantile " << quantile);
    std::uint64_t exact = exact_value_at(values, quantile);
    std::uint64_t reported = distribution.value_at(quantile);
    CHECK(reported >= exact);
    CHECK(static_cast<double>(reported) <= static_cast<double>(exact) * (1.0 + 1.0 / 64.0) + 1.0);
  }
  CHECK(distribution.min() == values.front());
  CHECK(distribution.max() == values.back());
  CHECK(distribution.value_at(1.0) == values.back());
}

TEST_CASE("distribution merge equals adding both") {
  LatencyDistribution first;
  LatencyDistribution second;
  LatencyDistribution both;
  for (std::uint64_t value = 1; value < 5000; value += 7) {
    (value % 2 == 0 ? first : second).add(value * 13);
    both.add(value * 13);
  }
  first.merge(second);
  CHECK(first.count() == both.count());
  CHECK(first.min() == both.min());
  CHECK(first.max() == both.max());
  CHECK(first.sum() == both.sum());
  for (double quantile : {0.1, 0.5, 0.9, 0.99}) CHECK(first.value_at(quantile) == both.value_at(quantile));
}

TEST_CASE("distribution huge values do not overflow") {
  LatencyDistribution distribution;
  distribution.add(UINT64_MAX);
  distribution.add(UINT64_MAX - 1);
  CHECK(distribution.max() == UINT64_MAX);
  CHECK(distribution.sum() == UINT64_MAX);
  CHECK(distribution.value_at(0.5) >= UINT64_MAX - 1);
}
