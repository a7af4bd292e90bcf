// The benchmark suite of intr: each case of the library measured against a
// raw baseline that does the same job with bare atomics, futexes or signals,
// in the same run and with the same timing method.
//
// Latency cases run on two threads, a driver and a target, pinned to two
// CPUs when the process may use two. The target arms: it blocks in a futex
// or in ppoll(), or it spins. The driver waits a settle time, so that a
// blocking target is asleep, then reads steady_clock and triggers. The
// target reads steady_clock as soon as it is back in its own code. Case and baseline run
// in alternating blocks so that drift in the machine affects both alike.
//
// Fast-path cases run on one thread and time batches of operations; each
// sample is the mean of one batch, and case and baseline samples alternate.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace intr::bench {

struct SuiteConfig {
  // Samples per case and per baseline. Each latency sample is one
  // interrupt; each fast-path sample is a batch of fast_path_batch calls.
  std::size_t iterations = 5000;
  // Pins the driver and the target to two CPUs when two are available.
  bool pin = true;

  static constexpr std::size_t max_iterations = 10'000'000;
  static constexpr std::size_t fast_path_batch = 64;
};

struct CaseResult {
  std::string name;         // the case, for example "interrupt_waiter"
  std::string description;  // what is timed, from where to where
  double p50_ns = 0;
  double p99_ns = 0;
  std::string baseline;     // the raw equivalent it is compared with
  double baseline_p50_ns = 0;
  double baseline_p99_ns = 0;
  double ratio = 0;         // p50_ns / baseline_p50_ns
  // The ratio the case should stay at or under; none for the peers, which
  // are shown for comparison only.
  std::optional<double> target_ratio;

  bool target_met() const { return !target_ratio || ratio <= *target_ratio; }
};

struct SuiteResult {
  std::vector<CaseResult> cases;
  // The CPUs of the driver and the target, or none when not pinned.
  std::optional<int> driver_cpu;
  std::optional<int> target_cpu;
  std::size_t iterations = 0;
};

// Runs every case. Takes a few seconds per 1000 iterations; prints nothing.
// Throws std::runtime_error when a thread cannot be set up (for example,
// when no real-time signal is free for the baseline handler).
SuiteResult run_suite(const SuiteConfig& config);

}  // namespace intr::bench
