// Waits, wake-ups, interrupts and guest runs across real threads.
#include "test_support.hpp"
#include "thread_helpers.hpp"

#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <random>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using intr_test::eventually;
using intr_test::eventually_sleeping;
using intr_test::OwningThread;

// Spins, yielding the processor, until `flag` is true.
void spin_until(const std::atomic<bool>& flag) {
  while (!flag.load()) std::this_thread::yield();
}

}  // namespace

// A waiter blocked in its futex returns `ready` after the condition is set
// and wake() is called.
TEST_CASE("blocked wait returns ready after wake", "[threads]") {
  std::atomic<bool> condition{false};
  intr::WaitResult result{};
  OwningThread waiter([&](intr::WaitState<>& state) {
    result = state.context().wait_until([&] { return condition.load(); });
  });
  CHECK(eventually_sleeping(waiter.tid()));
  condition.store(true);
  CHECK(waiter.waker().wake() == intr::WakeResult::woken);
  waiter.join();
  CHECK(result == intr::WaitResult::ready);
}

// A waiter blocked in its futex returns `interrupted` after interrupt(), and
// the pending bit stays set until the thread takes it.
TEST_CASE("blocked wait returns interrupted after interrupt", "[threads]") {
  intr::WaitResult result{};
  bool pending_after = false;
  OwningThread waiter([&](intr::WaitState<>& state) {
    result = state.context().sleep();
    pending_after = state.interrupt_pending();
  });
  CHECK(eventually_sleeping(waiter.tid()));
  CHECK(waiter.handle().interrupt() == intr::InterruptResult::woke_waiter);
  waiter.join();
  CHECK(result == intr::WaitResult::interrupted);
  CHECK(pending_after);
}

// A guest that spins on intr::this_thread::interrupt_requested() stops
// after interrupt(), with either delivery. With GuestDelivery::signal the
// thread receives exactly one interrupt signal; with polling, none.
TEST_CASE("interrupt stops a spinning guest", "[threads]") {
  intr::GuestDelivery delivery = GENERATE(intr::GuestDelivery::signal, intr::GuestDelivery::polling);
  bool signal_delivery = delivery == intr::GuestDelivery::signal;
  INFO("delivery " << (signal_delivery ? "signal" : "polling"));

  std::atomic<bool> in_guest{false};
  bool entered = false;
  bool finished_interrupted = false;
  std::uint64_t signals = 0;
  auto counts_before = intr::linux_signal::handler_counts();
  OwningThread guest(delivery, [&](intr::WaitState<>& state) {
    entered = state.prepare_to_run_guest() == intr::GuestEntry::entered;
    in_guest.store(true);
    while (!intr::this_thread::interrupt_requested()) {
    }
    finished_interrupted = state.finish_running_guest();
    // The signal may land after the guest saw the state word; wait for it
    // so that the count is final. Under TSan, which may drop it (see
    // below), a shorter wait keeps the test fast.
    if (signal_delivery) {
      eventually([] { return intr::this_thread::interrupt_signals_received() > 0; }, INTR_TEST_TSAN ? 1s : 10s);
    }
    signals = intr::this_thread::interrupt_signals_received();
  });
  spin_until(in_guest);
  CHECK(guest.handle().interrupt() == intr::InterruptResult::interrupted_guest);
  guest.join();
  CHECK(entered);
  CHECK(finished_interrupted);
  auto counts_after = intr::linux_signal::handler_counts();
  std::uint64_t handled = counts_after.accepted + counts_after.late - counts_before.accepted - counts_before.late;
  INFO("handler counts: accepted " << counts_after.accepted - counts_before.accepted << ", late "
       << counts_after.late - counts_before.late << ", ignored " << counts_after.ignored - counts_before.ignored);
  std::uint64_t expected = signal_delivery ? 1u : 0u;
#if INTR_TEST_TSAN
  // ThreadSanitizer defers an asynchronous signal to the thread's next
  // intercepted call and can drop one that arrives as the thread starts a
  // blocking call (here the sleep in eventually()). With GCC 12's libtsan,
  // a plain handler lost 93 of 200 signals sent by tgkill() this way. Under
  // TSan the test therefore checks only that no extra signal arrives.
  CHECK(signals <= expected);
  CHECK(handled <= expected);
#else
  CHECK(signals == expected);
  CHECK(handled == expected);
#endif
}

// An interrupt that lands while the waiter is already `woken` issues no
// futex wake of its own, yet the waiter must still observe it. Here a wake
// and then an interrupt arrive from another thread at one of two points of
// the wait loop: inside the ready predicate, or just before the futex call.
// The wait must return `interrupted` instead of blocking again.
TEST_CASE("interrupt of a woken waiter is not lost", "[threads]") {
  bool at_futex_call = GENERATE(false, true);
  INFO((at_futex_call ? "just before the futex call" : "inside the ready predicate"));

  std::atomic<bool> armed{false};
  std::atomic<bool> reached{false};
  std::atomic<bool> delivered{false};
  intr::WaitResult result{};
  intr_test::Watchdog watchdog(20s, "the woken waiter");
  OwningThread waiter([&](intr::WaitState<>& state) {
    // The first call of the hook after the test's first wake lets the test
    // wake and interrupt again, then returns false. Earlier calls (before
    // the first block, or after a spurious wake-up) do nothing.
    bool fired = false;
    auto hook = [&] {
      if (armed.load() && !fired) {
        fired = true;
        reached.store(true);
        spin_until(delivered);
      }
      return false;
    };
    result = state.context()
                 .with_check_for_interrupt([&] { return at_futex_call ? hook() : false; })
                 .wait_until([&] { return at_futex_call ? false : hook(); });
  });
  CHECK(eventually_sleeping(waiter.tid()));
  armed.store(true);
  CHECK(waiter.waker().wake() == intr::WakeResult::woken);
  spin_until(reached);
  CHECK(waiter.waker().wake() == intr::WakeResult::woken);
  CHECK(waiter.handle().interrupt() == intr::InterruptResult::recorded);
  delivered.store(true);
  waiter.join();
  CHECK(result == intr::WaitResult::interrupted);
}

// 10,000 times, a waiter starts a wait that only an interrupt can end (no
// timeout, a predicate that is never true) and another thread interrupts it
// after a random delay: before, during or after the waiter's entry into its
// futex. Every wait returns `interrupted`; a lost interrupt trips the
// watchdog.
TEST_CASE("interrupt right after a wait starts always ends it", "[threads]") {
  const long rounds = intr_test::scaled(10'000, 2'000);
  std::mutex mutex;
  std::condition_variable changed;
  long started_round = -1;
  long finished_round = -1;
  long not_interrupted = 0;
  bool stop = false;

  OwningThread waiter([&](intr::WaitState<>& state) {
    for (long round = 0;; ++round) {
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return stop || started_round == round; });
        if (stop) return;
      }
      intr::WaitResult result = state.context().sleep();
      state.take_interrupt();
      std::lock_guard lock(mutex);
      if (result != intr::WaitResult::interrupted) ++not_interrupted;
      finished_round = round;
      changed.notify_all();
    }
  });

  long woke_waiter = 0;
  std::mt19937 random(12345);
  std::uniform_int_distribution<int> jitter(0, 4000);
  intr_test::Watchdog watchdog(60s, "the interrupted waits", [&] {
    std::fprintf(stderr, "started round %ld, finished round %ld\n", started_round, finished_round);
  });
  for (long round = 0; round < rounds; ++round) {
    {
      std::lock_guard lock(mutex);
      started_round = round;
    }
    changed.notify_all();
    intr_test::spin_for(jitter(random));
    if (waiter.handle().interrupt() == intr::InterruptResult::woke_waiter) ++woke_waiter;
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return finished_round == round; });
  }
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  changed.notify_all();
  waiter.join();
  watchdog.disarm();
  std::printf("interrupted waits: %ld rounds, %ld woke a waiting thread, %ld landed before the wait\n", rounds,
              woke_waiter, rounds - woke_waiter);
  CHECK(not_interrupted == 0);
}
