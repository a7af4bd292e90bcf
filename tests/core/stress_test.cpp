// A million interrupt and wake cycles between two threads, with random
// delays on both sides, so that requests land before, during and after the
// waiter's entry into its futex and during short guest runs.
//
// The driver publishes one request at a time (an interrupt or a wake),
// then waits until the waiter acknowledges it. The waiter checks that each
// wait ended for the reason that was requested: an interrupt as
// `interrupted` with the pending bit set, a wake as `ready`. A lost request
// leaves both threads waiting, and a progress watchdog then fails the test
// with the state of both sides.
#include "test_support.hpp"
#include "thread_helpers.hpp"

#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cinttypes>
#include <random>

namespace {

using namespace std::chrono_literals;

enum class Request : int { interrupt, wake };

// What the driver and the waiter share. Every field is seq_cst: the request
// is the caller's own interrupt reason, published before interrupt() or
// wake() as the wait_state.hpp contract requires.
struct Shared {
  std::atomic<long> request_sequence{0};
  std::atomic<Request> request_kind{Request::wake};
  std::atomic<long> wake_sequence{0};  // the sequence of the latest wake request
  std::atomic<int> acknowledged{0};  // int, so that wait() is a plain futex
  std::atomic<long> mismatches{0};
  std::atomic<long> guest_runs{0};
  std::atomic<long> interrupted_in_guest{0};
  std::atomic<bool> stop{false};
  std::atomic<std::uint32_t> waiter_word{0};
};

// The waiter's side: waits (or runs a short guest) until a request comes,
// checks that the outcome matches the request, and acknowledges it.
void serve_requests(intr::WaitState<>& state, Shared& shared, unsigned seed) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> delay(0, 300);
  std::uniform_int_distribution<int> style(0, 31);
  long handled = 0;
  while (!shared.stop.load()) {
    intr_test::spin_for(delay(random));
    int choice = style(random);
    if (choice == 0 && state.prepare_to_run_guest() == intr::GuestEntry::entered) {
      // Wakes do not reach guest code, so the guest polls for them itself.
      shared.guest_runs.fetch_add(1);
      // It yields, so that the driver gets a processor on a loaded machine.
      while (!intr::this_thread::interrupt_requested() && shared.wake_sequence.load() <= handled &&
             !shared.stop.load()) {
        std::this_thread::yield();
      }
      if (state.finish_running_guest()) shared.interrupted_in_guest.fetch_add(1);
    } else {
      auto context = state.context();
      if (choice == 1) context = context.with_timeout(20us);
      auto ready = [&] { return shared.wake_sequence.load() > handled || shared.stop.load(); };
      intr::WaitResult result;
      do {
        result = context.wait_until(ready);
        if (result == intr::WaitResult::timed_out) context = state.context();
      } while (result == intr::WaitResult::timed_out);
    }
    // The driver stops only after the last acknowledgement, so no request
    // is outstanding once `stop` is set.
    if (shared.stop.load()) break;
    bool interrupted = state.take_interrupt();
    bool woken = shared.wake_sequence.load() > handled;

    long sequence = shared.request_sequence.load();
    Request kind = shared.request_kind.load();
    bool as_requested = (kind == Request::interrupt && interrupted && !woken) ||
                        (kind == Request::wake && woken && !interrupted);
    if (!as_requested || sequence != handled + 1) shared.mismatches.fetch_add(1);
    handled = sequence;
    shared.waiter_word.store(state.word());
    shared.acknowledged.store(static_cast<int>(sequence));
    shared.acknowledged.notify_one();
  }
}

// Stops the process when the driver makes no progress for `limit`.
class ProgressWatchdog {
 public:
  ProgressWatchdog(const Shared& shared, std::chrono::seconds limit)
      : thread_([this, &shared, limit] {
          long last = -1;
          auto last_change = std::chrono::steady_clock::now();
          while (!done_.load()) {
            std::this_thread::sleep_for(50ms);
            long now_acknowledged = shared.acknowledged.load();
            auto now = std::chrono::steady_clock::now();
            if (now_acknowledged != last) {
              last = now_acknowledged;
              last_change = now;
            } else if (now - last_change > limit) {
              std::fprintf(stderr,
                           "stress: no progress for %lld s: request %ld (%s) published, %ld acknowledged, "
                           "waiter's state word 0x%" PRIx32 " at its last acknowledgement\n",
                           static_cast<long long>(limit.count()), shared.request_sequence.load(),
                           shared.request_kind.load() == Request::interrupt ? "interrupt" : "wake",
                           now_acknowledged, shared.waiter_word.load());
              std::abort();
            }
          }
        }) {}
  ~ProgressWatchdog() {
    done_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

struct DriverCounts {
  long interrupts = 0;
  long woke_waiter = 0;
  long interrupted_guest = 0;
};

// The driver's side: publishes `cycles` requests one at a time, each after a
// random delay, and waits for each acknowledgement.
DriverCounts drive_requests(const intr_test::OwningThread& waiter, Shared& shared, long cycles) {
  DriverCounts counts;
  std::mt19937 random(42);
  std::uniform_int_distribution<int> delay(0, 300);
  std::bernoulli_distribution choose_interrupt(0.5);
  for (long sequence = 1; sequence <= cycles; ++sequence) {
    intr_test::spin_for(delay(random));
    if (choose_interrupt(random)) {
      shared.request_kind.store(Request::interrupt);
      shared.request_sequence.store(sequence);
      intr::InterruptResult result = waiter.handle().interrupt();
      ++counts.interrupts;
      if (result == intr::InterruptResult::woke_waiter) ++counts.woke_waiter;
      if (result == intr::InterruptResult::interrupted_guest) ++counts.interrupted_guest;
    } else {
      shared.request_kind.store(Request::wake);
      shared.request_sequence.store(sequence);
      shared.wake_sequence.store(sequence);
      waiter.waker().wake();
    }

    for (int seen = shared.acknowledged.load(); seen != sequence; seen = shared.acknowledged.load()) {
      shared.acknowledged.wait(seen);
    }
  }
  return counts;
}

}  // namespace

// Every request is observed exactly as requested, none is lost, and the
// two threads never deadlock.
TEST_CASE("million interrupt and wake cycles", "[stress]") {
  const long cycles = intr_test::scaled(1'000'000, 200'000);
  Shared shared;
  DriverCounts counts;
  auto start = std::chrono::steady_clock::now();
  {
    intr_test::OwningThread waiter([&](intr::WaitState<>& state) { serve_requests(state, shared, 99); });
    ProgressWatchdog watchdog(shared, 10s);
    counts = drive_requests(waiter, shared, cycles);

    shared.stop.store(true);
    waiter.waker().wake();
    waiter.handle().interrupt();
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("stress: %ld cycles in %.1f s: %ld interrupts (%ld woke a waiting thread, %ld interrupted a guest), "
              "%ld guest runs (%ld interrupted)\n",
              cycles, seconds, counts.interrupts, counts.woke_waiter, counts.interrupted_guest,
              shared.guest_runs.load(), shared.interrupted_in_guest.load());

  CHECK(shared.mismatches.load() == 0);
  CHECK(shared.acknowledged.load() == cycles);
  CHECK(counts.woke_waiter > 0);
  CHECK(counts.interrupted_guest > 0);
}
