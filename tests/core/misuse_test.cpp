// Misuse and bad input. Contract violations abort in a forked child with a
// message that names the mistake. Configuration errors throw SignalError
// with a message that names the value and the fix. Nothing crashes.
#include "test_support.hpp"
#include "thread_helpers.hpp"

#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <string>
#include <thread>

#ifndef INTR_TEST_SIGNAL_PROBE
#error "INTR_TEST_SIGNAL_PROBE must name the signal_probe program"
#endif

namespace {

using Catch::Contains;

// Runs `body` in a child and checks that it aborted with every fragment of
// `expected` in its stderr.
void expect_abort(const std::function<void()>& body, std::initializer_list<std::string> expected) {
  intr::linux_signal::ensure_installed();
  intr_test::ChildResult child = intr_test::run_in_child(body);
  INFO("child " << child.describe() << ", stderr: " << child.error_output);
  CHECK(child.aborted());
  for (const std::string& fragment : expected) CHECK_THAT(child.error_output, Contains(fragment));
}

intr_test::ChildResult run_probe(std::vector<std::string> arguments, std::vector<std::string> environment = {}) {
  return intr_test::run_program(INTR_TEST_SIGNAL_PROBE, std::move(arguments), std::move(environment));
}

}  // namespace

// A ready predicate that waits again is a wait inside a wait. (The core
// may call the predicate once in host code first, where a wait is legal.)
TEST_CASE("wait inside a wait aborts", "[misuse]") {
  expect_abort(
      [] {
        intr::WaitState<> state;
        state.context().with_timeout(std::chrono::seconds(1)).wait_until([&] {
          if (intr::model::state_of(state.word()) == intr::model::State::waiting) {
            state.context().with_timeout(std::chrono::milliseconds(1)).sleep();
          }
          return false;
        });
      },
      {"intr: contract violation: start_wait in state waiting", "a wait inside a wait"});
}

// The first call of ready() runs in host state, before the wait starts;
// a wait started there is caught too.
TEST_CASE("wait inside the first ready call aborts", "[misuse]") {
  expect_abort(
      [] {
        intr::WaitState<> state;
        state.context().wait_until([&] {
          state.context().with_timeout(std::chrono::milliseconds(1)).sleep();
          return true;
        });
      },
      {"intr: contract violation: start_wait inside a ready() predicate", "a wait inside a wait"});
}

// Guest code started from the first call of ready() is caught as well.
TEST_CASE("guest inside the first ready call aborts", "[misuse]") {
  expect_abort(
      [] {
        intr::WaitState<> state;
        state.context().wait_until([&] {
          if (state.prepare_to_run_guest() == intr::GuestEntry::entered) state.finish_running_guest();
          return true;
        });
      },
      {"intr: contract violation: prepare_guest inside a ready() predicate", "guest code started inside a wait"});
}

// Guest code must not wait: it cannot be woken, only interrupted.
TEST_CASE("wait inside guest code aborts", "[misuse]") {
  expect_abort(
      [] {
        intr::WaitState<> state;
        state.prepare_to_run_guest();
        state.context().sleep();
      },
      {"start_wait in state running_in_guest", "a wait inside guest code"});
}

TEST_CASE("finish without prepare aborts", "[misuse]") {
  expect_abort(
      [] {
        intr::WaitState<> state;
        state.finish_running_guest();
      },
      {"finish_guest in state running_in_host", "finish_running_guest without prepare_to_run_guest"});
}

// A thread owns at most one WaitState; the message names the thread.
TEST_CASE("second WaitState on a thread aborts", "[misuse]") {
  expect_abort(
      [] {
        intr::WaitState<> first;
        intr::WaitState<> second;
      },
      {"intr: contract violation: a second WaitState on thread", "a thread owns at most one"});
}

// A WaitState destroyed while its thread is in guest code would leave a
// signal handler pointed at freed state.
TEST_CASE("WaitState destroyed in guest code aborts", "[misuse]") {
  expect_abort(
      [] {
        auto* state = new intr::WaitState<>;
        state->prepare_to_run_guest();
        delete state;
      },
      {"end_wait in state running_in_guest", "destroyed inside guest code", "finish_running_guest"});
}

// Destroying a WaitState on another thread would detach the wrong thread.
TEST_CASE("WaitState destroyed on another thread aborts", "[misuse]") {
  expect_abort(
      [] {
        auto* state = new intr::WaitState<>;
        std::thread([state] { delete state; }).join();
      },
      {"intr: contract violation: a WaitState created on thread", "was destroyed on thread",
       "destroy it on the thread that created it"});
}

// set_interrupt_signal() rejects numbers outside SIGRTMIN..SIGRTMAX and
// names the number and the valid range.
TEST_CASE("invalid interrupt signal is rejected", "[misuse]") {
  int number = GENERATE(0, SIGTRAP, SIGRTMIN - 1, SIGRTMAX + 1, 1000, -5);
  intr_test::ChildResult probe = run_probe({"set", std::to_string(number)});
  INFO("probe " << probe.describe() << ", stderr: " << probe.error_output);
  CHECK(probe.exited_with(3));
  CHECK_THAT(probe.error_output, Contains("intr: interrupt signal " + std::to_string(number) +
                                          " (set by set_interrupt_signal) is not a real-time signal"));
  CHECK_THAT(probe.error_output, Contains("choose a number from SIGRTMIN (" + std::to_string(SIGRTMIN) +
                                          ") to SIGRTMAX (" + std::to_string(SIGRTMAX) + ")"));
}

// A real-time signal that the program already handles is not taken over.
TEST_CASE("occupied interrupt signal is rejected", "[misuse]") {
  int number = SIGRTMIN + 2;
  intr_test::ChildResult probe = run_probe({"occupy-set", std::to_string(number)});
  INFO("probe " << probe.describe() << ", stderr: " << probe.error_output);
  CHECK(probe.exited_with(3));
  CHECK_THAT(probe.error_output,
             Contains("intr: interrupt signal " + std::to_string(number) + " (set by set_interrupt_signal) "
                      "already has a handler"));
  CHECK_THAT(probe.error_output, Contains("choose a real-time signal that the program leaves at SIG_DFL"));
}

// With every real-time signal taken, the first WaitState fails with a
// message that explains how to free one.
TEST_CASE("no free real-time signal is reported", "[misuse]") {
  intr_test::ChildResult probe = run_probe({"occupy-all"});
  INFO("probe " << probe.describe() << ", stderr: " << probe.error_output);
  CHECK(probe.exited_with(3));
  CHECK_THAT(probe.error_output, Contains("intr: no real-time signal is free"));
  CHECK_THAT(probe.error_output, Contains("name it with INTR_SIGNAL or intr::linux_signal::set_interrupt_signal()"));
}

// INTR_SIGNAL gets the same checks, and a valid value is used.
TEST_CASE("INTR_SIGNAL is validated", "[misuse]") {
  SECTION("not a real-time signal") {
    intr_test::ChildResult probe = run_probe({"env"}, {"INTR_SIGNAL=5"});
    INFO("stderr: " << probe.error_output);
    CHECK(probe.exited_with(3));
    CHECK_THAT(probe.error_output, Contains("intr: interrupt signal 5 (from INTR_SIGNAL) is not a real-time signal"));
  }
  SECTION("not a number") {
    intr_test::ChildResult probe = run_probe({"env"}, {"INTR_SIGNAL=rt3"});
    INFO("stderr: " << probe.error_output);
    CHECK(probe.exited_with(3));
    CHECK_THAT(probe.error_output, Contains("intr: INTR_SIGNAL=\"rt3\" is not a signal number"));
    CHECK_THAT(probe.error_output, Contains("choose a number from SIGRTMIN"));
  }
  SECTION("occupied") {
    int number = SIGRTMIN + 1;
    intr_test::ChildResult probe =
        run_probe({"occupy-env", std::to_string(number)}, {"INTR_SIGNAL=" + std::to_string(number)});
    INFO("stderr: " << probe.error_output);
    CHECK(probe.exited_with(3));
    CHECK_THAT(probe.error_output, Contains("intr: interrupt signal " + std::to_string(number) +
                                            " (from INTR_SIGNAL) already has a handler"));
  }
  SECTION("valid") {
    int number = SIGRTMIN + 3;
    intr_test::ChildResult probe = run_probe({"env"}, {"INTR_SIGNAL=" + std::to_string(number)});
    INFO("stderr: " << probe.error_output);
    CHECK(probe.exited_with(0));
    CHECK(probe.output == "signal " + std::to_string(number) + "\n");
  }
}

// Once a signal is installed, naming the same one again is harmless and
// naming another one is rejected with the fix.
TEST_CASE("interrupt signal cannot change after install", "[misuse]") {
  int installed = intr::linux_signal::ensure_installed();
  CHECK_NOTHROW(intr::linux_signal::set_interrupt_signal(installed));
  int other = installed == SIGRTMAX ? SIGRTMAX - 1 : SIGRTMAX;
  try {
    intr::linux_signal::set_interrupt_signal(other);
    FAIL("set_interrupt_signal(" << other << ") did not throw");
  } catch (const intr::SignalError& error) {
    std::string message = error.what();
    CHECK_THAT(message, Contains("intr: cannot use signal " + std::to_string(other)));
    CHECK_THAT(message, Contains("signal " + std::to_string(installed) + " is already installed"));
    CHECK_THAT(message, Contains("call set_interrupt_signal() before the first WaitState"));
  }
  CHECK(intr::linux_signal::interrupt_signal() == installed);
}

// Handles outlive their thread: after it exits, interrupt() and wake() do
// nothing and return thread_exited.
TEST_CASE("handles of an exited thread report it", "[misuse]") {
  intr::GuestDelivery delivery = GENERATE(intr::GuestDelivery::signal, intr::GuestDelivery::polling);
  std::optional<intr::ThreadHandle<>> handle;
  std::optional<intr::Waker<>> waker;
  std::atomic<bool> release{false};
  {
    intr_test::OwningThread thread(delivery, [&](intr::WaitState<>&) { release.wait(false); });
    handle.emplace(thread.handle());
    waker.emplace(thread.waker());
    CHECK_FALSE(handle->exited());
    release.store(true);
    release.notify_one();
  }
  CHECK(handle->exited());
  CHECK(handle->interrupt() == intr::InterruptResult::thread_exited);
  CHECK(waker->wake() == intr::WakeResult::thread_exited);
  auto copy = *handle;
  CHECK(copy.interrupt() == intr::InterruptResult::thread_exited);
}
