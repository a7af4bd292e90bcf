// A watchdog that stops work which runs past its deadline.
//
// Two worker threads misbehave on purpose:
//  - "computation" runs a loop that never ends on its own, as an interpreter
//    running a user's infinite loop would;
//  - "wait" waits for data that never arrives.
// Each worker hands the watchdog (the main thread) a ThreadHandle. The
// watchdog interrupts each one at its deadline, and the workers report how
// they were stopped. The program exits 0 only when both were stopped by the
// watchdog.
#include <intr/intr.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <future>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A backstop inside the waiting worker: if the watchdog never came, the wait
// would end here with `timed_out` instead of hanging the program.
constexpr auto wait_backstop = 10s;

// Runs a computation with no end of its own as a cooperative guest: the
// loop polls intr::this_thread::interrupt_requested(), a single load of a
// thread-local flag, so polling on every step is cheap.
bool run_computation(std::promise<intr::ThreadHandle<>>& handle_out, std::uint64_t& steps) {
  // Polling delivery: the interrupt only changes the state word that the
  // loop polls. The default, signal delivery, would also send a signal,
  // which a guest blocked in a system call needs.
  intr::WaitState<> state(intr::GuestDelivery::polling);
  handle_out.set_value(state.thread_handle());

  // An interrupt that arrived before this point makes the entry fail, so a
  // request is never lost between the handshake and the loop.
  if (state.prepare_to_run_guest() != intr::GuestEntry::entered) {
    state.take_interrupt();
    return true;
  }
  std::uint64_t value = 27;
  while (!intr::this_thread::interrupt_requested()) {
    // The Collatz sequence from 27, restarted whenever it reaches 1.
    value = value % 2 == 0 ? value / 2 : 3 * value + 1;
    if (value == 1) value = 27;
    ++steps;
  }
  bool interrupted = state.finish_running_guest();
  // The pending bit is sticky: take it, or the thread's next wait would
  // return `interrupted` at once.
  state.take_interrupt();
  return interrupted;
}

// Waits for data that never arrives. Only an interrupt (or the backstop
// timeout) ends the wait.
intr::WaitResult run_wait(std::promise<intr::ThreadHandle<>>& handle_out) {
  intr::WaitState<> state;
  handle_out.set_value(state.thread_handle());

  std::atomic<bool> data_arrived{false};  // stays false: the data never arrives
  intr::WaitResult result = state.context().with_timeout(wait_backstop).wait_until([&] {
    return data_arrived.load(std::memory_order_seq_cst);
  });
  state.take_interrupt();
  return result;
}

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

int main() {
  const Clock::time_point start = Clock::now();

  std::promise<intr::ThreadHandle<>> computation_handle;
  std::uint64_t steps = 0;
  bool computation_interrupted = false;
  double computation_ms = 0;
  std::thread computation([&] {
    computation_interrupted = run_computation(computation_handle, steps);
    computation_ms = milliseconds_since(start);
  });

  std::promise<intr::ThreadHandle<>> wait_handle;
  intr::WaitResult wait_result = intr::WaitResult::ready;
  double wait_ms = 0;
  std::thread waiter([&] {
    wait_result = run_wait(wait_handle);
    wait_ms = milliseconds_since(start);
  });

  // The watchdog: sleep until each deadline, then interrupt. interrupt()
  // does not block, and it reaches the worker in any state: running guest
  // code, waiting, or about to start either.
  intr::ThreadHandle<> computation_target = computation_handle.get_future().get();
  intr::ThreadHandle<> wait_target = wait_handle.get_future().get();

  std::this_thread::sleep_until(start + 100ms);
  intr::InterruptResult first = computation_target.interrupt();
  std::printf("watchdog: computation deadline (100 ms) passed: interrupt() returned %s\n", intr::to_string(first));

  std::this_thread::sleep_until(start + 200ms);
  intr::InterruptResult second = wait_target.interrupt();
  std::printf("watchdog: wait deadline (200 ms) passed: interrupt() returned %s\n", intr::to_string(second));

  computation.join();
  waiter.join();

  std::printf("computation: %s after %llu steps, at %.0f ms\n",
              computation_interrupted ? "stopped by the watchdog" : "ended on its own",
              static_cast<unsigned long long>(steps), computation_ms);
  std::printf("wait: returned %s at %.0f ms\n", intr::to_string(wait_result), wait_ms);

  bool both_stopped = computation_interrupted && wait_result == intr::WaitResult::interrupted;
  std::printf("%s\n", both_stopped ? "both overruns were stopped" : "the watchdog did not stop both overruns");
  return both_stopped ? 0 : 1;
}
