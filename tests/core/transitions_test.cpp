// Every (state, event) pair of the transition table in model/, run against a
// real WaitState<> on a real thread with the Linux platform.
//
// For each pair the test puts a WaitState into the state, with and without
// the pending bit where both are reachable, and applies the event through
// the public API. It then compares the state word and the action taken (a
// futex wake, an interrupt signal, the signal handler's decision) with
// model::transition(). Pairs that the table calls contract violations run in
// a forked child, which must abort with a message naming the event and the
// state. rearm_wait, end_wait and guest_not_ready happen only inside the
// core. Where no API call can produce them in a state, the pair goes through
// intr::detail::apply(), the read-modify-write that every API call uses.
#include "test_support.hpp"

#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <optional>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

using intr::model::Action;
using intr::model::Event;
using intr::model::State;

// What an event did: the word before and after it, the action the platform
// saw, the API's return value where it has one, and the interrupt signals
// that reached this thread meanwhile.
struct Observation {
  std::uint32_t before = 0;
  std::uint32_t after = 0;
  Action action = Action::none;
  std::optional<bool> returned;
  std::uint64_t signals = 0;
  bool observed = false;
  bool thread_exited = false;  // interrupt() or wake() claimed the thread had exited
};

// A WaitState on the calling thread with its handle and waker.
struct Fixture {
  intr::WaitState<> state{intr::GuestDelivery::signal};
  intr::ThreadHandle<> handle = state.thread_handle();
  intr::Waker<> waker = state.waker();

  std::uint32_t word() const { return state.word(); }
};

// Sends the interrupt signal to this thread with tgkill(), as a late or a
// timely delivery would arrive. Returns once the handler has run.
void deliver_signal_to_self() {
  syscall(SYS_tgkill, getpid(), gettid(), intr::linux_signal::interrupt_signal());
}

bool in_guest(std::uint32_t word) {
  State state = intr::model::state_of(word);
  return state == State::running_in_guest || state == State::interrupted_guest;
}

// The core may call a ready predicate once in host code before it starts
// waiting, so the predicates below act only once the word leaves host state.
bool inside_wait(const Fixture& fixture) {
  return intr::model::state_of(fixture.word()) != State::running_in_host;
}

// Applies an event that the owning thread can cause with one API call in
// the current state, and records what happened.
Observation fire(Fixture& fixture, Event event) {
  Observation observation;
  auto counts_before = intr::linux_signal::handler_counts();
  std::uint64_t signals_before = intr::this_thread::interrupt_signals_received();
  observation.before = fixture.word();
  switch (event) {
    case Event::start_wait:
      fixture.state.context().wait_until([&] {
        if (!inside_wait(fixture)) return false;
        observation.after = fixture.word();
        return true;
      });
      break;
    case Event::wake:
      switch (fixture.waker.wake()) {
        case intr::WakeResult::woken: observation.action = Action::futex_wake; break;
        case intr::WakeResult::not_waiting: break;
        case intr::WakeResult::thread_exited: observation.thread_exited = true; break;
      }
      break;
    case Event::interrupt:
      switch (fixture.handle.interrupt()) {
        case intr::InterruptResult::woke_waiter: observation.action = Action::futex_wake; break;
        case intr::InterruptResult::interrupted_guest: observation.action = Action::platform_interrupt; break;
        case intr::InterruptResult::recorded: break;
        case intr::InterruptResult::thread_exited: observation.thread_exited = true; break;
      }
      break;
    case Event::take_interrupt:
      observation.returned = fixture.state.take_interrupt();
      break;
    case Event::prepare_guest:
      observation.returned = fixture.state.prepare_to_run_guest() == intr::GuestEntry::entered;
      break;
    case Event::finish_guest:
      observation.returned = fixture.state.finish_running_guest();
      break;
    case Event::platform_interrupt_delivered: {
      deliver_signal_to_self();
      auto counts_after = intr::linux_signal::handler_counts();
      if (counts_after.accepted > counts_before.accepted) observation.action = Action::return_to_host;
      break;
    }
    case Event::rearm_wait:
    case Event::end_wait:
    case Event::guest_not_ready:
      std::abort();  // driven by drive_inside_core()
  }
  if (event != Event::start_wait) observation.after = fixture.word();
  observation.signals = intr::this_thread::interrupt_signals_received() - signals_before;
  observation.observed = true;
  return observation;
}

// Puts the fixture into `state` with the pending bit `pending`, runs
// `body` there, and brings the thread back to host code.
template <class Body>
void in_state(Fixture& fixture, State state, bool pending, Body&& body) {
  switch (state) {
    case State::running_in_host:
      if (pending) fixture.handle.interrupt();
      body();
      break;
    case State::waiting:
    case State::woken: {
      if (pending) fixture.handle.interrupt();
      bool done = false;
      fixture.state.context().wait_until([&] {
        if (!inside_wait(fixture)) return false;
        if (!done) {
          done = true;
          if (state == State::woken) fixture.waker.wake();
          body();
        }
        return true;
      });
      break;
    }
    case State::running_in_guest:
      fixture.state.prepare_to_run_guest();
      body();
      break;
    case State::interrupted_guest:
      fixture.state.prepare_to_run_guest();
      fixture.handle.interrupt();
      if (!pending) fixture.state.take_interrupt();
      body();
      break;
  }
  if (in_guest(fixture.word())) fixture.state.finish_running_guest();
}

// The events that only the core's wait loop and prepare_to_run_guest()
// apply, produced through them.
Observation drive_inside_core(Fixture& fixture, State state, bool pending, Event event) {
  Observation observation;
  if (event == Event::rearm_wait && state == State::waiting) {
    // A futex wait that times out returns with the word still `waiting`.
    // The interrupt check runs just before the futex call, so a ready call
    // after it comes after the re-arm.
    for (auto timeout = std::chrono::milliseconds(2); !observation.observed; timeout *= 2) {
      bool blocked = false;
      fixture.state.context()
          .with_timeout(timeout)
          .with_check_for_interrupt([&] {
            blocked = true;
            observation.before = fixture.word();
            return false;
          })
          .wait_until([&] {
            if (blocked) {
              observation.after = fixture.word();
              observation.observed = true;
            }
            return false;
          });
    }
  } else if (event == Event::rearm_wait && state == State::woken) {
    // A wake (or, with the pending bit, an interrupt) just before the futex
    // call makes the call return at once with the word `woken`.
    bool blocked = false;
    fixture.state.context()
        .with_check_for_interrupt([&] {
          blocked = true;
          if (pending) {
            fixture.handle.interrupt();
          } else {
            fixture.waker.wake();
          }
          observation.before = fixture.word();
          return false;
        })
        .wait_until([&] {
          if (!blocked) return false;
          observation.after = fixture.word();
          observation.observed = true;
          return true;
        });
  } else if (event == Event::end_wait && (state == State::waiting || state == State::woken)) {
    in_state(fixture, state, pending, [&] { observation.before = fixture.word(); });
    observation.after = fixture.word();
    observation.observed = true;
  } else if (event == Event::guest_not_ready && in_guest(intr::model::make_word(state, pending))) {
    intr::GuestEntry entry = fixture.state.prepare_to_run_guest([&] {
      if (state == State::interrupted_guest) {
        fixture.handle.interrupt();
        if (!pending) fixture.state.take_interrupt();
      }
      observation.before = fixture.word();
      return false;
    });
    observation.returned = entry == intr::GuestEntry::not_ready;
    observation.after = fixture.word();
    observation.observed = true;
  }
  return observation;
}

// How a pair is exercised. `not_observable` marks a state that no API call
// leaves the thread in, or an event whose effect no API call shows alone.
enum class Route { api, inside_core, destructor, table_only, not_observable };

Route route_for(State state, bool pending, Event event) {
  // No API call leaves a thread in running_in_guest with the pending bit
  // set: prepare_to_run_guest() leaves guest state at once when it finds it,
  // which the last test of this file checks.
  if (state == State::running_in_guest && pending) return Route::not_observable;
  if (event == Event::prepare_guest && pending) return Route::not_observable;
  bool waiting_or_woken = state == State::waiting || state == State::woken;
  bool guest = state == State::running_in_guest || state == State::interrupted_guest;
  switch (event) {
    case Event::rearm_wait:
      if (state == State::woken || (state == State::waiting && !pending)) return Route::inside_core;
      return Route::table_only;
    case Event::end_wait:
      if (waiting_or_woken) return Route::inside_core;
      if (guest) return Route::destructor;
      return Route::table_only;
    case Event::guest_not_ready:
      return guest ? Route::inside_core : Route::table_only;
    default:
      return Route::api;
  }
}

// Applies the event to a bare word with the core's read-modify-write.
Observation drive_table_only(State state, bool pending, Event event) {
  std::atomic<std::uint32_t> word{intr::model::make_word(state, pending)};
  Observation observation;
  observation.before = word.load();
  auto applied = intr::detail::apply<intr::LinuxPlatform>(word, event, std::memory_order_seq_cst);
  observation.after = word.load();
  observation.action = applied.transition.action;
  observation.observed = true;
  return observation;
}

// Exercises one (state, pending, event) combination on this thread.
Observation drive(State state, bool pending, Event event) {
  Route route = route_for(state, pending, event);
  if (route == Route::table_only) return drive_table_only(state, pending, event);
  if (route == Route::destructor) {
    auto* fixture = new Fixture;
    fixture->state.prepare_to_run_guest();
    if (state == State::interrupted_guest) fixture->handle.interrupt();
    delete fixture;  // aborts: a WaitState must be destroyed in host code
    return {};
  }
  Fixture fixture;
  if (route == Route::inside_core) return drive_inside_core(fixture, state, pending, event);
  Observation observation;
  in_state(fixture, state, pending, [&] { observation = fire(fixture, event); });
  return observation;
}

std::string pair_name(State state, bool pending, Event event) {
  return std::string(intr::model::name(event)) + " in " + std::string(intr::model::name(state)) +
         (pending ? " with an interrupt pending" : "");
}

}  // namespace

// Each legal pair changes the word exactly as the table prescribes and
// performs exactly the table's action: a futex wake, an interrupt signal that the
// handler accepts, or nothing.
TEST_CASE("wait state follows the transition table", "[transitions]") {
  State state = GENERATE(from_range(intr::model::all_states));
  Event event = GENERATE(from_range(intr::model::all_events));
  intr::model::Transition expected = intr::model::transition(state, event);
  if (expected.action == Action::contract_violation) return;  // the next test

  for (bool pending : {false, true}) {
    if (route_for(state, pending, event) == Route::not_observable) continue;
    INFO(pair_name(state, pending, event));
    Observation observation = drive(state, pending, event);
    REQUIRE(observation.observed);
    CHECK_FALSE(observation.thread_exited);

    std::uint32_t word_before = intr::model::make_word(state, pending);
    CHECK(observation.before == word_before);
    CHECK(observation.after == intr::model::apply_transition(word_before, expected));
    CHECK(intr::model::name(observation.action) == intr::model::name(expected.action));

    // The platform interrupt is a real signal that this thread receives.
    bool signal_expected = expected.action == Action::platform_interrupt ||
                           event == Event::platform_interrupt_delivered;
    CHECK(observation.signals == (signal_expected ? 1u : 0u));

    if (event == Event::take_interrupt) CHECK(observation.returned == std::optional<bool>(pending));
    if (event == Event::finish_guest) {
      CHECK(observation.returned == std::optional<bool>(state == State::interrupted_guest));
    }
    if (event == Event::prepare_guest) CHECK(observation.returned == std::optional<bool>(!pending));
    if (event == Event::guest_not_ready) CHECK(observation.returned == std::optional<bool>(true));
  }
}

// Each pair that the table calls a contract violation aborts the process,
// in every build type, with a message naming the event and the state found.
TEST_CASE("contract violations abort with a message", "[transitions]") {
  State state = GENERATE(from_range(intr::model::all_states));
  Event event = GENERATE(from_range(intr::model::all_events));
  if (intr::model::transition(state, event).action != Action::contract_violation) return;

  // The signal is installed before the fork, so every child starts alike.
  intr::linux_signal::ensure_installed();
  INFO(pair_name(state, false, event));
  intr_test::ChildResult child = intr_test::run_in_child([&] { drive(state, false, event); });
  INFO("child " << child.describe() << ", stderr: " << child.error_output);
  CHECK(child.aborted());
  CHECK_THAT(child.error_output, Catch::Contains("intr: contract violation"));
  CHECK_THAT(child.error_output, Catch::Contains(std::string(intr::model::name(event)) + " in state " +
                                                 std::string(intr::model::name(state))));
}

// prepare_to_run_guest() with an interrupt pending applies prepare_guest
// and, finding the bit, guest_not_ready at once: the thread never runs the
// guest and its readiness check is not called.
TEST_CASE("prepare with a pending interrupt stays in host", "[transitions]") {
  Fixture fixture;
  fixture.handle.interrupt();
  bool check_called = false;
  intr::GuestEntry entry = fixture.state.prepare_to_run_guest([&] {
    check_called = true;
    return true;
  });
  CHECK(entry == intr::GuestEntry::interrupted);
  CHECK_FALSE(check_called);
  std::uint32_t expected = intr::model::next_word(
      intr::model::next_word(intr::model::make_word(State::running_in_host, true), Event::prepare_guest),
      Event::guest_not_ready);
  CHECK(fixture.word() == expected);
}
