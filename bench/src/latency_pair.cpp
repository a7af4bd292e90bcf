#include "latency_pair.hpp"

#include "measure.hpp"

#include <stdexcept>

namespace intr::bench {

LatencyPair::LatencyPair(std::optional<int> target_cpu) {
  target_ = boost::thread([this] { target_main(); });
  // An unpinned target is not fatal: the figures are only noisier.
  pinned_ = target_cpu && pin_thread(target_.native_handle(), *target_cpu);
}

LatencyPair::~LatencyPair() {
  quit_ = true;
  // Release: the target reads quit_ after its acquire load of command_.
  command_.fetch_add(1, std::memory_order_release);
  command_.notify_one();
  target_.join();
}

void LatencyPair::wait_for_phase(Phase phase) const {
  // Acquire: pairs with the release store of the other thread's phase.
  while (phase_.load(std::memory_order_acquire) != phase) cpu_relax();
}

// Waits for the target to reach `phase`, or throws its error.
void LatencyPair::wait_for_target(Phase phase) const {
  for (;;) {
    Phase now = phase_.load(std::memory_order_acquire);
    if (now == phase) return;
    if (now == Phase::target_failed) throw std::runtime_error(target_error_);
    cpu_relax();
  }
}

void LatencyPair::run_block(LatencyVariant& variant, std::size_t count, std::vector<double>& samples) {
  std::vector<std::int64_t> triggered_at(count);
  observed_at_.assign(count, 0);
  variant_ = &variant;
  count_ = count;
  phase_.store(Phase::posted, std::memory_order_relaxed);
  // Release: publishes variant_, count_ and observed_at_ to the target.
  command_.fetch_add(1, std::memory_order_release);
  command_.notify_one();

  wait_for_target(Phase::target_ready);
  variant.driver_begin_block();
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t iteration = i + 1;
    // Acquire: what the target set up before arming is visible here.
    while (armed_.load(std::memory_order_acquire) != iteration) cpu_relax();
    variant.prepare_trigger();
    spin_for(variant.settle_ns());
    triggered_at[i] = now_ns();
    variant.trigger();
    while (done_.load(std::memory_order_acquire) != iteration) cpu_relax();
    variant.after_iteration();
  }
  variant.driver_end_block();
  phase_.store(Phase::driver_done, std::memory_order_release);
  wait_for_target(Phase::target_done);

  for (std::size_t i = 0; i < count; ++i) {
    samples.push_back(static_cast<double>(observed_at_[i] - triggered_at[i]));
  }
}

void LatencyPair::target_main() {
  std::uint32_t seen = 0;
  for (;;) {
    command_.wait(seen, std::memory_order_acquire);
    seen = command_.load(std::memory_order_acquire);
    if (quit_) return;
    try {
      run_target_block(*variant_, count_);
    } catch (const std::exception& e) {
      target_error_ = e.what();
      phase_.store(Phase::target_failed, std::memory_order_release);
    }
  }
}

// A throw from begin_block() or end_block() reaches the driver through
// Phase::target_failed. await_trigger() and reset_trigger() must not throw,
// because the driver would then wait for the next arm forever.
void LatencyPair::run_target_block(LatencyVariant& variant, std::size_t count) {
  variant.begin_block();
  armed_.store(0, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  // Release: the driver reads the reset counters and begin_block()'s work.
  phase_.store(Phase::target_ready, std::memory_order_release);
  for (std::size_t i = 0; i < count; ++i) {
    variant.await_trigger(Arm(armed_, i + 1));
    observed_at_[i] = now_ns();
    variant.reset_trigger();
    // Release: the driver reads observed_at_ after the block, and its next
    // trigger must not overtake this reset.
    done_.store(i + 1, std::memory_order_release);
  }
  wait_for_phase(Phase::driver_done);
  variant.end_block();
  phase_.store(Phase::target_done, std::memory_order_release);
}

}  // namespace intr::bench
