// The interrupt signal's handler acts only on signals that this process
// sent. Another process that sends the same signal number, with kill(),
// sigqueue() or tgkill() aimed at a thread in guest code, must not
// interrupt that guest.
#include "test_support.hpp"
#include "thread_helpers.hpp"

#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <sys/syscall.h>
#include <unistd.h>

// A thread in guest code receives the interrupt signal from a child
// process three ways. The handler counts each as ignored, none as accepted,
// and the guest never observes an interrupt.
TEST_CASE("signals from another process are ignored", "[foreign]") {
  int signal_number = intr::linux_signal::ensure_installed();
  std::atomic<bool> in_guest{false};
  std::atomic<bool> stop{false};
  bool saw_interrupt = false;
  bool finished_interrupted = true;
  std::uint64_t guest_signals = 0;

  intr_test::Watchdog watchdog(std::chrono::seconds(30), "the foreign signal test");
  intr_test::OwningThread guest([&](intr::WaitState<>& state) {
    if (state.prepare_to_run_guest() != intr::GuestEntry::entered) return;
    in_guest.store(true);
    while (!stop.load()) {
      if (intr::this_thread::interrupt_requested()) saw_interrupt = true;
      std::this_thread::yield();
    }
    finished_interrupted = state.finish_running_guest();
    guest_signals = intr::this_thread::interrupt_signals_received();
  });
  while (!in_guest.load()) std::this_thread::yield();

  // One signal at a time, each handled before the next is sent: several
  // instances of one signal pending at once may be merged on the way to the
  // handler (ThreadSanitizer's deferred delivery merges them).
  auto before = intr::linux_signal::handler_counts();
  pid_t parent = getpid();
  pid_t target = guest.tid();
  enum class Sender { kill, sigqueue, tgkill };
  bool all_handled = true;
  for (Sender sender : {Sender::kill, Sender::sigqueue, Sender::tgkill}) {
    std::uint64_t ignored_before = intr::linux_signal::handler_counts().ignored;
    intr_test::ChildResult child = intr_test::run_in_child([&] {
      // Async-signal-safe calls only: the parent has other threads.
      sigval value{};
      value.sival_int = 1;
      int result = sender == Sender::kill       ? kill(parent, signal_number)
                   : sender == Sender::sigqueue ? sigqueue(parent, signal_number, value)
                                                : static_cast<int>(syscall(SYS_tgkill, parent, target, signal_number));
      _exit(result == 0 ? 0 : 1);
    });
    CHECK(child.exited_with(0));
    all_handled = all_handled && intr_test::eventually([&] {
      return intr::linux_signal::handler_counts().ignored > ignored_before;
    });
  }
  stop.store(true);
  guest.join();
  auto after = intr::linux_signal::handler_counts();

  CHECK(all_handled);
  CHECK(after.ignored - before.ignored == 3);
  CHECK(after.accepted == before.accepted);
  CHECK_FALSE(saw_interrupt);
  CHECK_FALSE(finished_interrupted);
  CHECK(guest_signals == 0);
}
