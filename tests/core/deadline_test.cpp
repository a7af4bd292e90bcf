// Timeouts, deadlines, interrupt predicates and the pending bit of waits on
// one thread.
#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <chrono>

namespace {

using namespace std::chrono_literals;
using Clock = intr::LinuxPlatform::Clock;
using Duration = intr::LinuxPlatform::Duration;

}  // namespace

// A wait with a timeout and no other way out returns timed_out, never
// before the deadline. The upper bound only catches a wait that hangs.
TEST_CASE("timed wait returns timed_out at its deadline", "[deadline]") {
  intr::WaitState<> state;
  auto start = Clock::now();
  CHECK(state.context().with_timeout(20ms).sleep() == intr::WaitResult::timed_out);
  auto elapsed = Clock::now() - start;
  CHECK(elapsed >= 20ms);
  CHECK(elapsed < 5s);

  auto deadline = Clock::now() + 15ms;
  CHECK(state.context().with_deadline(deadline).wait_until([] { return false; }) == intr::WaitResult::timed_out);
  CHECK(Clock::now() >= deadline);
}

// with_timeout() and with_deadline() keep the earlier deadline, in either
// order.
TEST_CASE("earliest deadline wins", "[deadline]") {
  intr::WaitState<> state;
  auto near = Clock::now() + 10ms;
  auto far = near + 1h;

  CHECK(state.context().with_deadline(near).with_deadline(far).deadline() == near);
  CHECK(state.context().with_deadline(far).with_deadline(near).deadline() == near);
  CHECK(state.context().with_timeout(1h).with_deadline(near).deadline() == near);
  CHECK(state.context().with_deadline(near).with_timeout(1h).deadline() == near);

  auto start = Clock::now();
  CHECK(state.context().with_timeout(1h).with_deadline(near).sleep() == intr::WaitResult::timed_out);
  CHECK(Clock::now() >= near);
  CHECK(Clock::now() - start < 5s);
}

// A timeout too large to add to the current time means no deadline at all.
// It neither wraps around into the past nor replaces an earlier deadline.
TEST_CASE("overflowing timeout means no deadline", "[deadline]") {
  intr::WaitState<> state;
  auto context = state.context().with_timeout(Duration::max());
  CHECK_FALSE(context.deadline().has_value());
  CHECK_FALSE(context.remaining().has_value());
  CHECK_FALSE(state.context().with_timeout(Duration::max() - 1ns).deadline().has_value());

  auto near = Clock::now() + 1h;
  CHECK(state.context().with_deadline(near).with_timeout(Duration::max()).deadline() == near);

  // Without a deadline, only an interrupt ends the wait.
  state.thread_handle().interrupt();
  CHECK(context.sleep() == intr::WaitResult::interrupted);
}

// A negative or zero timeout is a deadline that has already passed.
TEST_CASE("negative timeout times out at once", "[deadline]") {
  intr::WaitState<> state;
  CHECK(state.context().with_timeout(-1s).sleep() == intr::WaitResult::timed_out);
  CHECK(state.context().with_timeout(Duration::min()).sleep() == intr::WaitResult::timed_out);
  CHECK(state.context().with_timeout(0ns).sleep() == intr::WaitResult::timed_out);
  CHECK(state.context().with_deadline(Clock::time_point::min()).sleep() == intr::WaitResult::timed_out);
}

// remaining() is the time left until the deadline: at most the timeout,
// shrinking as time passes, and zero once the deadline has passed.
TEST_CASE("remaining counts down to zero", "[deadline]") {
  intr::WaitState<> state;
  CHECK_FALSE(state.context().remaining().has_value());

  auto context = state.context().with_timeout(30ms);
  auto first = context.remaining();
  REQUIRE(first.has_value());
  CHECK(*first <= 30ms);
  CHECK(*first > 0ns);

  CHECK(context.sleep() == intr::WaitResult::timed_out);
  auto after = context.remaining();
  REQUIRE(after.has_value());
  CHECK(*after == 0ns);
}

// A deadline that has already passed reports timed_out even when an
// interrupt is pending, and the wait leaves the pending bit for the thread
// to take.
TEST_CASE("past deadline wins over pending interrupt", "[deadline]") {
  intr::WaitState<> state;
  CHECK(state.thread_handle().interrupt() == intr::InterruptResult::recorded);
  auto past = Clock::now() - 1ms;
  CHECK(state.context().with_deadline(past).sleep() == intr::WaitResult::timed_out);
  CHECK(state.interrupt_pending());

  // With a deadline still ahead, the pending interrupt ends the wait.
  CHECK(state.context().with_timeout(1h).sleep() == intr::WaitResult::interrupted);
  CHECK(state.interrupt_pending());
}

// A ready condition wins over both a passed deadline and a pending
// interrupt, because it is checked first.
TEST_CASE("ready condition wins over deadline and interrupt", "[deadline]") {
  intr::WaitState<> state;
  state.thread_handle().interrupt();
  CHECK(state.context().with_timeout(0ns).wait_until([] { return true; }) == intr::WaitResult::ready);
}

// Interrupts do not count: two interrupts set one bit, one take clears it,
// and the next wait runs to its deadline.
TEST_CASE("double interrupt is taken once", "[deadline]") {
  intr::WaitState<> state;
  auto handle = state.thread_handle();
  CHECK(handle.interrupt() == intr::InterruptResult::recorded);
  CHECK(handle.interrupt() == intr::InterruptResult::recorded);
  CHECK(state.interrupt_pending());
  CHECK(state.take_interrupt());
  CHECK_FALSE(state.take_interrupt());
  CHECK_FALSE(state.interrupt_pending());
  CHECK(state.context().with_timeout(5ms).sleep() == intr::WaitResult::timed_out);
}

// with_check_for_interrupt() adds predicates that end the wait as
// `interrupted` without touching the pending bit; chained predicates are
// or-ed.
TEST_CASE("interrupt predicates end the wait", "[deadline]") {
  intr::WaitState<> state;
  bool first = false;
  bool second = false;
  auto context = state.context()
                     .with_timeout(1h)
                     .with_check_for_interrupt([&] { return first; })
                     .with_check_for_interrupt([&] { return second; });
  CHECK(context.deadline().has_value());

  first = true;
  CHECK(context.sleep() == intr::WaitResult::interrupted);
  first = false;
  second = true;
  CHECK(context.sleep() == intr::WaitResult::interrupted);
  CHECK_FALSE(state.interrupt_pending());

  second = false;
  CHECK(state.context().with_timeout(1ms).with_check_for_interrupt([&] { return second; }).sleep() ==
        intr::WaitResult::timed_out);
}
