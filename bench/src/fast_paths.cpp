#include "fast_paths.hpp"

#include "measure.hpp"

#include <intr/intr.hpp>

#include <atomic>
#include <cstdint>

namespace intr::bench {
namespace {

constexpr std::size_t batch = SuiteConfig::fast_path_batch;
constexpr std::size_t warm_up_batches = 64;
constexpr double fast_path_target = 2.0;

// Mean time of one call over a batch, in nanoseconds.
template <class Operation>
double time_batch(Operation& operation) {
  std::int64_t start = now_ns();
  for (std::size_t i = 0; i < batch; ++i) operation();
  return static_cast<double>(now_ns() - start) / static_cast<double>(batch);
}

struct CaseText {
  const char* name;
  const char* description;
  const char* baseline;
};

// Alternates case and baseline batches, the order flipping each sample, so
// that frequency changes and interrupts fall on both alike.
template <class Case, class Baseline>
CaseResult measure_pair(const CaseText& text, std::size_t samples, Case&& measured, Baseline&& baseline) {
  for (std::size_t i = 0; i < warm_up_batches; ++i) {
    time_batch(measured);
    time_batch(baseline);
  }

  std::vector<double> case_samples;
  std::vector<double> baseline_samples;
  case_samples.reserve(samples);
  baseline_samples.reserve(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    if (i % 2 == 0) {
      case_samples.push_back(time_batch(measured));
      baseline_samples.push_back(time_batch(baseline));
    } else {
      baseline_samples.push_back(time_batch(baseline));
      case_samples.push_back(time_batch(measured));
    }
  }

  Percentiles case_figures = percentiles(case_samples);
  Percentiles baseline_figures = percentiles(baseline_samples);
  CaseResult result;
  result.name = text.name;
  result.description = text.description;
  result.baseline = text.baseline;
  result.p50_ns = case_figures.p50_ns;
  result.p99_ns = case_figures.p99_ns;
  result.baseline_p50_ns = baseline_figures.p50_ns;
  result.baseline_p99_ns = baseline_figures.p99_ns;
  result.ratio = baseline_figures.p50_ns > 0 ? case_figures.p50_ns / baseline_figures.p50_ns : 0;
  result.target_ratio = fast_path_target;
  return result;
}

}  // namespace

std::vector<CaseResult> measure_fast_paths(std::size_t samples) {
  std::vector<CaseResult> results;
  WaitState<> state;
  ThreadHandle<> handle = state.thread_handle();
  // The ready flag and the raw word sit on their own cache lines, as a
  // caller's condition and a state word would.
  alignas(64) std::atomic<bool> ready{true};
  alignas(64) std::atomic<std::uint32_t> word{0};

  results.push_back(measure_pair(
      {"wait_until_ready", "wait_until() whose predicate (one seq_cst load) is already true", "raw_cas_load"}, samples,
      [&] { state.context().wait_until([&] { return ready.load(std::memory_order_seq_cst); }); },
      // The value to swap in lives in the lambda, not behind a reference,
      // so that it stays in a register and the baseline does no extra load.
      [&word, &ready, value = std::uint32_t{0}]() mutable {
        std::uint32_t expected = value;
        word.compare_exchange_strong(expected, value ^ 1, std::memory_order_seq_cst);
        value ^= 1;
        (void)ready.load(std::memory_order_seq_cst);
      }));

  results.push_back(measure_pair(
      {"guest_prepare_finish", "prepare_to_run_guest() then finish_running_guest(), not interrupted", "raw_two_cas"},
      samples,
      [&] {
        state.prepare_to_run_guest();
        state.finish_running_guest();
      },
      [&] {
        std::uint32_t expected = 0;
        word.compare_exchange_strong(expected, 3, std::memory_order_seq_cst);
        expected = 3;
        word.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
      }));

  // Every interrupt() must find the pending bit clear to do its write, so
  // each call is paired with the take_interrupt() that clears it, and the
  // baseline pairs a fetch_or with a fetch_and. The thread interrupts itself
  // so that no cache-line transfer is timed.
  results.push_back(measure_pair(
      {"interrupt_host", "interrupt() of a thread in host code, then its take_interrupt()", "raw_fetch_or_and"},
      samples,
      [&] {
        handle.interrupt();
        state.take_interrupt();
      },
      [&] {
        word.fetch_or(8, std::memory_order_seq_cst);
        word.fetch_and(~std::uint32_t{8}, std::memory_order_acq_rel);
      }));
  return results;
}

}  // namespace intr::bench
