// The latency variants: each case of the library and the raw baselines and
// peers it is compared with. Every variant is a LatencyVariant run by
// LatencyPair, so cases and baselines share the same timing.
#pragma once

#include "latency_pair.hpp"

#include <memory>

namespace intr::bench {

// Settle time before triggering a target that blocks in the kernel: long
// enough for it to be asleep, so the trigger pays for the wake-up.
inline constexpr std::int64_t sleeping_settle_ns = 50'000;
// Settle time before triggering a target that spins.
inline constexpr std::int64_t spinning_settle_ns = 2'000;

// ---- Waiting (wait_variants.cpp) ----

// ThreadHandle::interrupt() to wait_until() returning `interrupted`.
std::unique_ptr<LatencyVariant> make_intr_waiter();
// FUTEX_WAKE to FUTEX_WAIT returning, on a bare word.
std::unique_ptr<LatencyVariant> make_raw_futex();
// std::stop_source::request_stop() to std::condition_variable_any::wait()
// with a std::stop_token returning.
std::unique_ptr<LatencyVariant> make_stop_token_wait();
// boost::thread::interrupt() to boost::thread_interrupted being caught
// around boost::condition_variable::wait().
std::unique_ptr<LatencyVariant> make_boost_interrupt(LatencyPair& pair);

// ---- Guests (guest_variants.cpp) ----

enum class GuestShape : std::uint8_t {
  blocked,   // the guest is blocked in ppoll()
  spinning,  // the guest spins on its flag
};

// ThreadHandle::interrupt() of a cooperative guest with signal delivery,
// to finish_running_guest() returning.
std::unique_ptr<LatencyVariant> make_intr_signal_guest(GuestShape shape);
// pthread_kill() to the target's code running after its handler set a flag.
// `signal_number` must have the raw handler installed (RawSignalHandler).
std::unique_ptr<LatencyVariant> make_raw_signal(GuestShape shape, LatencyPair& pair, int signal_number);
// ThreadHandle::interrupt() of a cooperative guest with polling delivery,
// to finish_running_guest() returning.
std::unique_ptr<LatencyVariant> make_intr_polling_guest();
// A release store of an atomic flag to the spinning target seeing it.
std::unique_ptr<LatencyVariant> make_raw_flag();

// Installs the baseline's own handler on a free real-time signal that is
// not intr's, and restores the previous handler on destruction.
class RawSignalHandler {
 public:
  // Throws std::runtime_error when no real-time signal is free.
  RawSignalHandler();
  ~RawSignalHandler();
  RawSignalHandler(const RawSignalHandler&) = delete;
  RawSignalHandler& operator=(const RawSignalHandler&) = delete;

  int signal_number() const { return signal_number_; }

 private:
  int signal_number_;
};

}  // namespace intr::bench
