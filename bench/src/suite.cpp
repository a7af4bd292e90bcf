#include <intr_bench/suite.hpp>

#include "fast_paths.hpp"
#include "measure.hpp"
#include "variants.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace intr::bench {
namespace {

constexpr double wake_target = 1.15;
constexpr double signal_target = 1.15;
constexpr double polling_target = 2.0;
// Samples per block before the next variant runs. Small blocks spread noise
// from other processes, which comes and goes over milliseconds, evenly over
// the variants of a group. Each block costs a handshake with the target
// thread and, for intr's variants, a new WaitState.
constexpr std::size_t max_block = 10;
constexpr std::size_t warm_up_iterations = 20;

struct Entry {
  std::unique_ptr<LatencyVariant> variant;
  std::vector<double> samples;
};

// Runs every variant of a group in rounds of equal blocks, rotating which
// one goes first, until each has `iterations` samples. A warm-up block per
// variant is run first and discarded.
void run_interleaved(LatencyPair& pair, std::vector<Entry>& group, std::size_t iterations) {
  std::vector<double> discarded;
  for (Entry& entry : group) pair.run_block(*entry.variant, std::min(warm_up_iterations, iterations), discarded);

  std::size_t block = std::clamp<std::size_t>(iterations / 20, 1, max_block);
  std::size_t done = 0;
  for (std::size_t round = 0; done < iterations; ++round) {
    std::size_t count = std::min(block, iterations - done);
    for (std::size_t k = 0; k < group.size(); ++k) {
      Entry& entry = group[(k + round) % group.size()];
      pair.run_block(*entry.variant, count, entry.samples);
    }
    done += count;
  }
}

CaseResult compare(const char* name, const char* description, std::vector<double>& samples, const char* baseline,
                   std::vector<double>& baseline_samples, std::optional<double> target) {
  Percentiles figures = percentiles(samples);
  Percentiles baseline_figures = percentiles(baseline_samples);
  CaseResult result;
  result.name = name;
  result.description = description;
  result.p50_ns = figures.p50_ns;
  result.p99_ns = figures.p99_ns;
  result.baseline = baseline;
  result.baseline_p50_ns = baseline_figures.p50_ns;
  result.baseline_p99_ns = baseline_figures.p99_ns;
  result.ratio = baseline_figures.p50_ns > 0 ? figures.p50_ns / baseline_figures.p50_ns : 0;
  result.target_ratio = target;
  return result;
}

void measure_waits(LatencyPair& pair, std::size_t iterations, std::vector<CaseResult>& results) {
  std::vector<Entry> group;
  group.push_back({make_intr_waiter(), {}});
  group.push_back({make_raw_futex(), {}});
  group.push_back({make_stop_token_wait(), {}});
  group.push_back({make_boost_interrupt(pair), {}});
  run_interleaved(pair, group, iterations);
  std::vector<double>& futex = group[1].samples;
  results.push_back(compare("interrupt_waiter", "interrupt() to wait_until() returning interrupted", group[0].samples,
                            "raw_futex_wake", futex, wake_target));
  results.push_back(compare("stop_token_wait",
                            "request_stop() to condition_variable_any::wait(lock, stop_token, pred) returning",
                            group[2].samples, "raw_futex_wake", futex, std::nullopt));
  results.push_back(compare("boost_thread_interrupt",
                            "boost::thread::interrupt() to thread_interrupted caught around condition_variable::wait",
                            group[3].samples, "raw_futex_wake", futex, std::nullopt));
}

void measure_signal_guests(LatencyPair& pair, int raw_signal, std::size_t iterations,
                           std::vector<CaseResult>& results) {
  std::vector<Entry> blocked;
  blocked.push_back({make_intr_signal_guest(GuestShape::blocked), {}});
  blocked.push_back({make_raw_signal(GuestShape::blocked, pair, raw_signal), {}});
  run_interleaved(pair, blocked, iterations);
  results.push_back(compare("guest_signal_blocked",
                            "interrupt() of a guest blocked in ppoll(), signal delivery, to finish_running_guest()",
                            blocked[0].samples, "raw_pthread_kill_blocked", blocked[1].samples, signal_target));

  std::vector<Entry> spinning;
  spinning.push_back({make_intr_signal_guest(GuestShape::spinning), {}});
  spinning.push_back({make_raw_signal(GuestShape::spinning, pair, raw_signal), {}});
  run_interleaved(pair, spinning, iterations);
  results.push_back(compare("guest_signal_spinning",
                            "interrupt() of a spinning guest, signal delivery, to finish_running_guest()",
                            spinning[0].samples, "raw_pthread_kill_spinning", spinning[1].samples, signal_target));
}

void measure_polling_guest(LatencyPair& pair, std::size_t iterations, std::vector<CaseResult>& results) {
  std::vector<Entry> group;
  group.push_back({make_intr_polling_guest(), {}});
  group.push_back({make_raw_flag(), {}});
  run_interleaved(pair, group, iterations);
  results.push_back(compare("guest_polling",
                            "interrupt() of a spinning guest, polling delivery, to finish_running_guest()",
                            group[0].samples, "raw_flag", group[1].samples, polling_target));
}

}  // namespace

SuiteResult run_suite(const SuiteConfig& config) {
  if (config.iterations < 1 || config.iterations > SuiteConfig::max_iterations) {
    throw std::invalid_argument("iterations must be from 1 to " + std::to_string(SuiteConfig::max_iterations) +
                                ", not " + std::to_string(config.iterations));
  }
  SuiteResult result;
  result.iterations = config.iterations;

  AffinityGuard restore_affinity;
  std::optional<std::pair<int, int>> cpus = config.pin ? two_cpus() : std::nullopt;
  std::optional<int> target_cpu;
  if (cpus && pin_thread(pthread_self(), cpus->first)) {
    result.driver_cpu = cpus->first;
    target_cpu = cpus->second;
  }

  RawSignalHandler raw_handler;
  {
    LatencyPair pair(target_cpu);
    if (pair.pinned()) result.target_cpu = target_cpu;
    measure_waits(pair, config.iterations, result.cases);
    measure_signal_guests(pair, raw_handler.signal_number(), config.iterations, result.cases);
    measure_polling_guest(pair, config.iterations, result.cases);
  }
  for (CaseResult& fast : measure_fast_paths(config.iterations)) result.cases.push_back(std::move(fast));
  return result;
}

}  // namespace intr::bench
