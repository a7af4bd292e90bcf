// The fast paths of `intr bench` under Google Benchmark, for its usual
// options: --benchmark_repetitions, --benchmark_filter, --benchmark_format.
// Each intr operation sits next to the bare atomics it is compared with.
// Single-threaded: the cross-thread latencies are measured by `intr bench`.
#include <intr/intr.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>

namespace {

// wait_until() whose predicate (one seq_cst load) is already true.
void wait_until_ready(benchmark::State& run) {
  intr::WaitState<> state;
  std::atomic<bool> ready{true};
  for (auto _ : run) {
    benchmark::DoNotOptimize(state.context().wait_until([&] { return ready.load(std::memory_order_seq_cst); }));
  }
}
BENCHMARK(wait_until_ready);

// One compare-and-swap and one seq_cst load.
void raw_cas_load(benchmark::State& run) {
  std::atomic<std::uint32_t> word{0};
  std::atomic<bool> ready{true};
  std::uint32_t value = 0;
  for (auto _ : run) {
    std::uint32_t expected = value;
    word.compare_exchange_strong(expected, value ^ 1, std::memory_order_seq_cst);
    value ^= 1;
    benchmark::DoNotOptimize(ready.load(std::memory_order_seq_cst));
  }
}
BENCHMARK(raw_cas_load);

void guest_prepare_finish(benchmark::State& run) {
  intr::WaitState<> state;
  for (auto _ : run) {
    benchmark::DoNotOptimize(state.prepare_to_run_guest());
    benchmark::DoNotOptimize(state.finish_running_guest());
  }
}
BENCHMARK(guest_prepare_finish);

void raw_two_cas(benchmark::State& run) {
  std::atomic<std::uint32_t> word{0};
  for (auto _ : run) {
    std::uint32_t expected = 0;
    word.compare_exchange_strong(expected, 3, std::memory_order_seq_cst);
    expected = 3;
    word.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
  }
}
BENCHMARK(raw_two_cas);

// interrupt() of the calling thread, in host code, then take_interrupt(),
// so that every interrupt() finds the pending bit clear and writes it.
void interrupt_host(benchmark::State& run) {
  intr::WaitState<> state;
  intr::ThreadHandle<> handle = state.thread_handle();
  for (auto _ : run) {
    benchmark::DoNotOptimize(handle.interrupt());
    benchmark::DoNotOptimize(state.take_interrupt());
  }
}
BENCHMARK(interrupt_host);

void raw_fetch_or_and(benchmark::State& run) {
  std::atomic<std::uint32_t> word{0};
  for (auto _ : run) {
    word.fetch_or(8, std::memory_order_seq_cst);
    word.fetch_and(~std::uint32_t{8}, std::memory_order_acq_rel);
  }
}
BENCHMARK(raw_fetch_or_and);

}  // namespace

BENCHMARK_MAIN();
