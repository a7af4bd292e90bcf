// The two-thread engine of the latency cases. A driver thread (the caller)
// triggers and a target thread observes. Each iteration yields one sample:
// from the driver's clock read just before the trigger to the target's
// clock read just after it observed the trigger.
#pragma once

#include <boost/thread/thread.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace intr::bench {

// Marks the target as armed: called by the variant right before it blocks
// or starts spinning.
class Arm {
 public:
  Arm(std::atomic<std::uint64_t>& armed, std::uint64_t iteration) : armed_(armed), iteration_(iteration) {}
  void operator()() const {
    // Release: the driver's acquire load then reads what the target set up.
    armed_.store(iteration_, std::memory_order_release);
  }

 private:
  std::atomic<std::uint64_t>& armed_;
  std::uint64_t iteration_;
};

// One way of triggering a waiting or spinning thread. The target-side hooks
// run on the target thread, the driver-side hooks on the caller.
class LatencyVariant {
 public:
  explicit LatencyVariant(std::int64_t settle_ns) : settle_ns_(settle_ns) {}
  virtual ~LatencyVariant() = default;

  // Target: before the block's first iteration.
  virtual void begin_block() {}
  // Target: sets up, calls arm(), then blocks or spins until trigger() has
  // reached it, and returns at once.
  virtual void await_trigger(const Arm& arm) = 0;
  // Target: after the observation time was read; undoes the trigger.
  virtual void reset_trigger() {}
  // Target: after the driver has finished the block.
  virtual void end_block() {}

  // Driver: after begin_block() has run on the target.
  virtual void driver_begin_block() {}
  // Driver: after the target armed, before the settle time; not timed.
  virtual void prepare_trigger() {}
  // Driver: the timed trigger.
  virtual void trigger() = 0;
  // Driver: after the target observed; not timed.
  virtual void after_iteration() {}
  // Driver: after the block's last iteration.
  virtual void driver_end_block() {}

  // How long the driver waits between the target arming and the trigger,
  // so that a target that blocks is asleep in the kernel by then.
  std::int64_t settle_ns() const { return settle_ns_; }

 private:
  std::int64_t settle_ns_;
};

// Owns the target thread. It is a boost::thread so that the Boost.Thread
// peer can interrupt it; the other variants do not use Boost's interruption.
class LatencyPair {
 public:
  // Starts the target thread and pins it to target_cpu, if given.
  explicit LatencyPair(std::optional<int> target_cpu);
  // Stops and joins the target thread.
  ~LatencyPair();
  LatencyPair(const LatencyPair&) = delete;
  LatencyPair& operator=(const LatencyPair&) = delete;

  boost::thread& target_thread() { return target_; }
  pthread_t target_pthread() { return target_.native_handle(); }

  // Whether the target thread is pinned to the CPU it was given.
  bool pinned() const { return pinned_; }

  // Runs `count` iterations of `variant` and appends their latencies in
  // nanoseconds to `samples`. Throws std::runtime_error with the target's
  // message when a target-side hook throws.
  void run_block(LatencyVariant& variant, std::size_t count, std::vector<double>& samples);

 private:
  enum class Phase : std::uint32_t { posted, target_ready, driver_done, target_done, target_failed };

  void target_main();
  void run_target_block(LatencyVariant& variant, std::size_t count);
  void wait_for_phase(Phase phase) const;
  void wait_for_target(Phase phase) const;

  // Written by the driver before it bumps `command_`.
  LatencyVariant* variant_ = nullptr;
  std::size_t count_ = 0;
  bool quit_ = false;
  bool pinned_ = false;
  std::vector<std::int64_t> observed_at_;
  std::string target_error_;  // written by the target before Phase::target_failed

  alignas(64) std::atomic<std::uint32_t> command_{0};
  alignas(64) std::atomic<Phase> phase_{Phase::posted};
  alignas(64) std::atomic<std::uint64_t> armed_{0};
  alignas(64) std::atomic<std::uint64_t> done_{0};
  boost::thread target_;
};

}  // namespace intr::bench
