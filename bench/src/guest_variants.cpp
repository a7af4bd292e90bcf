// Interrupting a cooperative guest: by intr's signal delivery, by intr's
// polling delivery, and the raw baselines, pthread_kill() to a handler and a
// bare atomic flag.
#include "variants.hpp"

#include "measure.hpp"

#include <intr/intr.hpp>

#include <csignal>
#include <ctime>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>

namespace intr::bench {
namespace {

// How long one ppoll() of a blocked guest lasts. A trigger that lands before
// the call starts is seen after this at the latest.
constexpr timespec block_timeout{0, 100'000'000};

// Set by the baseline's handler. Lock-free, so the handler may store it.
std::atomic<bool> raw_signal_seen{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_raw_signal(int, siginfo_t*, void*) { raw_signal_seen.store(true, std::memory_order_release); }

// A guest run that the driver interrupts through its ThreadHandle. With
// signal delivery, the signal wakes a blocked guest because ppoll() fails
// with EINTR. A spinning guest reads the changed state word before the
// signal arrives, but finish_running_guest() then waits until the signal
// has been handled, so both shapes pay for the signal.
class IntrGuest final : public LatencyVariant {
 public:
  IntrGuest(GuestDelivery delivery, GuestShape shape)
      : LatencyVariant(shape == GuestShape::blocked ? sleeping_settle_ns : spinning_settle_ns),
        delivery_(delivery),
        shape_(shape) {}

  void begin_block() override {
    state_.emplace(delivery_);
    target_handle_.emplace(state_->thread_handle());
  }
  void await_trigger(const Arm& arm) override {
    state_->prepare_to_run_guest();
    if (shape_ == GuestShape::blocked) {
      this_thread::InterruptibleSystemCalls breakable;
      arm();
      while (!this_thread::interrupt_requested()) ppoll(nullptr, 0, &block_timeout, nullptr);
    } else {
      arm();
      while (!this_thread::interrupt_requested()) cpu_relax();
    }
    state_->finish_running_guest();
  }
  void reset_trigger() override { state_->take_interrupt(); }
  void end_block() override {
    target_handle_.reset();
    state_.reset();
  }

  void driver_begin_block() override { handle_.emplace(*target_handle_); }
  void trigger() override { handle_->interrupt(); }
  void driver_end_block() override { handle_.reset(); }

 private:
  GuestDelivery delivery_;
  GuestShape shape_;
  std::optional<WaitState<>> state_;
  std::optional<ThreadHandle<>> target_handle_;
  std::optional<ThreadHandle<>> handle_;
};

// The target blocks in ppoll() or spins until its handler has set a flag;
// the driver sends the signal with pthread_kill().
class RawSignal final : public LatencyVariant {
 public:
  RawSignal(GuestShape shape, LatencyPair& pair, int signal_number)
      : LatencyVariant(shape == GuestShape::blocked ? sleeping_settle_ns : spinning_settle_ns),
        shape_(shape),
        pair_(pair),
        signal_number_(signal_number) {}

  void await_trigger(const Arm& arm) override {
    raw_signal_seen.store(false, std::memory_order_relaxed);
    arm();
    if (shape_ == GuestShape::blocked) {
      while (!raw_signal_seen.load(std::memory_order_acquire)) ppoll(nullptr, 0, &block_timeout, nullptr);
    } else {
      while (!raw_signal_seen.load(std::memory_order_acquire)) cpu_relax();
    }
  }
  void trigger() override { pthread_kill(pair_.target_pthread(), signal_number_); }

 private:
  GuestShape shape_;
  LatencyPair& pair_;
  int signal_number_;
};

// The target spins on an atomic flag that the driver sets.
class RawFlag final : public LatencyVariant {
 public:
  RawFlag() : LatencyVariant(spinning_settle_ns) {}

  void await_trigger(const Arm& arm) override {
    arm();
    while (!flag_.load(std::memory_order_acquire)) cpu_relax();
  }
  void reset_trigger() override { flag_.store(false, std::memory_order_relaxed); }
  void trigger() override { flag_.store(true, std::memory_order_release); }

 private:
  alignas(64) std::atomic<bool> flag_{false};
};

bool handler_is_default(int signal_number) {
  struct sigaction current {};
  if (sigaction(signal_number, nullptr, &current) != 0) return false;
  return !(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_DFL;
}

}  // namespace

std::unique_ptr<LatencyVariant> make_intr_signal_guest(GuestShape shape) {
  return std::make_unique<IntrGuest>(GuestDelivery::signal, shape);
}
std::unique_ptr<LatencyVariant> make_raw_signal(GuestShape shape, LatencyPair& pair, int signal_number) {
  return std::make_unique<RawSignal>(shape, pair, signal_number);
}
std::unique_ptr<LatencyVariant> make_intr_polling_guest() {
  return std::make_unique<IntrGuest>(GuestDelivery::polling, GuestShape::spinning);
}
std::unique_ptr<LatencyVariant> make_raw_flag() { return std::make_unique<RawFlag>(); }

RawSignalHandler::RawSignalHandler() : signal_number_(0) {
  // intr picks the first free real-time signal at first use; install it
  // first so that the baseline takes another one.
  int intr_signal = linux_signal::ensure_installed();
  for (int number = SIGRTMIN; number <= SIGRTMAX; ++number) {
    if (number != intr_signal && handler_is_default(number)) {
      signal_number_ = number;
      break;
    }
  }
  if (signal_number_ == 0) {
    throw std::runtime_error("no real-time signal is free for the baseline handler: every signal from SIGRTMIN to "
                             "SIGRTMAX except intr's has a handler");
  }
  struct sigaction action {};
  action.sa_sigaction = on_raw_signal;
  // The flags intr uses for its own signal, so that only the handlers differ.
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(signal_number_, &action, nullptr) != 0) {
    throw std::runtime_error("sigaction(" + std::to_string(signal_number_) + ") failed for the baseline handler");
  }
}

RawSignalHandler::~RawSignalHandler() {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(signal_number_, &action, nullptr);
}

}  // namespace intr::bench
