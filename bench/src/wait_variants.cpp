// Interrupting a thread that waits: intr's wait, a bare futex, and the two
// peers, std::stop_token with std::condition_variable_any and Boost.Thread.
#include "variants.hpp"

#include <intr/intr.hpp>

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/mutex.hpp>

#include <condition_variable>
#include <linux/futex.h>
#include <mutex>
#include <optional>
#include <stop_token>
#include <sys/syscall.h>
#include <unistd.h>

namespace intr::bench {
namespace {

// The target waits with a predicate that is never true; the driver
// interrupts it through its ThreadHandle.
class IntrWaiter final : public LatencyVariant {
 public:
  IntrWaiter() : LatencyVariant(sleeping_settle_ns) {}

  void begin_block() override {
    state_.emplace();
    target_handle_.emplace(state_->thread_handle());
  }
  void await_trigger(const Arm& arm) override {
    arm();
    state_->context().wait_until([] { return false; });
  }
  void reset_trigger() override { state_->take_interrupt(); }
  void end_block() override {
    target_handle_.reset();
    state_.reset();
  }

  // The driver keeps its own copy, so it never reads the target's optional
  // while the target resets it.
  void driver_begin_block() override { handle_.emplace(*target_handle_); }
  void trigger() override { handle_->interrupt(); }
  void driver_end_block() override { handle_.reset(); }

 private:
  std::optional<WaitState<>> state_;
  std::optional<ThreadHandle<>> target_handle_;
  std::optional<ThreadHandle<>> handle_;
};

long futex(std::atomic<std::uint32_t>& word, int operation, std::uint32_t value) {
  return syscall(SYS_futex, &word, operation, value, nullptr, nullptr, 0);
}

// The target blocks in FUTEX_WAIT on a bare word; the driver stores 1 and
// issues FUTEX_WAKE, as intr's interrupt() does after its compare-and-swap.
class RawFutex final : public LatencyVariant {
 public:
  RawFutex() : LatencyVariant(sleeping_settle_ns) {}

  void await_trigger(const Arm& arm) override {
    arm();
    while (word_.load(std::memory_order_acquire) == 0) futex(word_, FUTEX_WAIT_PRIVATE, 0);
  }
  void reset_trigger() override { word_.store(0, std::memory_order_relaxed); }
  void trigger() override {
    word_.store(1, std::memory_order_release);
    futex(word_, FUTEX_WAKE_PRIVATE, 1);
  }

 private:
  alignas(64) std::atomic<std::uint32_t> word_{0};
};

// The target waits on a condition_variable_any with a fresh stop token per
// iteration; the driver calls request_stop() on its copy of the source.
class StopTokenWait final : public LatencyVariant {
 public:
  StopTokenWait() : LatencyVariant(sleeping_settle_ns) {}

  void await_trigger(const Arm& arm) override {
    std::stop_source source;
    // Release: the driver copies the source after its acquire load.
    current_.store(&source, std::memory_order_release);
    std::unique_lock lock(mutex_);
    arm();
    condition_.wait(lock, source.get_token(), [] { return false; });
    current_.store(nullptr, std::memory_order_relaxed);
  }

  // The copy shares the stop state, so request_stop() stays valid while the
  // target destroys its own source.
  void prepare_trigger() override { source_ = *current_.load(std::memory_order_acquire); }
  void trigger() override { source_.request_stop(); }
  void after_iteration() override { source_ = std::stop_source(std::nostopstate); }

 private:
  std::mutex mutex_;
  std::condition_variable_any condition_;
  std::atomic<std::stop_source*> current_{nullptr};
  std::stop_source source_{std::nostopstate};
};

// The target, a boost::thread, waits on a boost::condition_variable, which
// is an interruption point; the driver calls boost::thread::interrupt().
class BoostInterrupt final : public LatencyVariant {
 public:
  explicit BoostInterrupt(LatencyPair& pair) : LatencyVariant(sleeping_settle_ns), pair_(pair) {}

  void await_trigger(const Arm& arm) override {
    boost::unique_lock<boost::mutex> lock(mutex_);
    arm();
    try {
      for (;;) condition_.wait(lock);
    } catch (const boost::thread_interrupted&) {
      // The interruption is the expected way out.
    }
  }
  void trigger() override { pair_.target_thread().interrupt(); }

 private:
  LatencyPair& pair_;
  boost::mutex mutex_;
  boost::condition_variable condition_;
};

}  // namespace

std::unique_ptr<LatencyVariant> make_intr_waiter() { return std::make_unique<IntrWaiter>(); }
std::unique_ptr<LatencyVariant> make_raw_futex() { return std::make_unique<RawFutex>(); }
std::unique_ptr<LatencyVariant> make_stop_token_wait() { return std::make_unique<StopTokenWait>(); }
std::unique_ptr<LatencyVariant> make_boost_interrupt(LatencyPair& pair) {
  return std::make_unique<BoostInterrupt>(pair);
}

}  // namespace intr::bench
