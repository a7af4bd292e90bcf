// The abstract specification of the per-thread wait-state machine.
//
// Every thread that can be interrupted owns one 32-bit state word. Its low
// three bits contain a State, and bit 3 is the sticky interrupt-pending flag. This
// header is the single source of truth for how that word may change: for every
// (state, event) pair, `transition()` gives the next state, what happens to the
// pending bit, and the action the caller must take afterwards.
//
// The core in lib/ computes each read-modify-write from this table, and a
// static_assert there walks all pairs, so the code and the table cannot drift.
// The harness, the rapidcheck reference model and the Promela export read the
// same table.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace intr::model {

// The five states of a thread, one value each in the low bits of the word.
enum class State : std::uint8_t {
  running_in_host = 0,    // host code, including non-interruptible locking
  waiting = 1,            // inside an interruptible wait, maybe in a futex
  woken = 2,              // woken, about to re-evaluate its condition
  running_in_guest = 3,   // guest code, or entering or leaving it
  interrupted_guest = 4,  // an interrupt is on its way to guest code
};
inline constexpr std::size_t state_count = 5;

// Events that change, or may change, a thread's state word.
enum class Event : std::uint8_t {
  start_wait,                    // the thread enters an interruptible wait
  rearm_wait,                    // the waiter re-arms after its futex returned
  end_wait,                      // the waiter leaves the wait with a result
  wake,                          // a Waker requests that the waiter re-evaluate
  interrupt,                     // a ThreadHandle requests an interrupt
  take_interrupt,                // the thread consumes the pending request
  prepare_guest,                 // the thread is about to run guest code
  guest_not_ready,               // the readiness check after prepare failed
  finish_guest,                  // guest code returned to the host
  platform_interrupt_delivered,  // the platform interrupt reached the thread
};
inline constexpr std::size_t event_count = 10;

// The step the actor takes after its read-modify-write succeeded.
enum class Action : std::uint8_t {
  none,
  futex_wake,          // wake the thread blocked on the state word
  platform_interrupt,  // signal (Linux) or suspend (Windows) the thread
  return_to_host,      // the interrupt handler forces the guest back
  contract_violation,  // the event is illegal in this state: abort
};

// The effect of an event on the sticky pending bit.
enum class Pending : std::uint8_t { keep, set, clear };

struct Transition {
  State next;
  Pending pending;
  Action action;
};

namespace detail {

using S = State;
using P = Pending;
using A = Action;

inline constexpr Transition violation(State s) { return {s, P::keep, A::contract_violation}; }
inline constexpr Transition stay(State s) { return {s, P::keep, A::none}; }

// Rows are events, columns are states in the order of State.
inline constexpr std::array<std::array<Transition, state_count>, event_count> table{{
    // start_wait: only host code may start a wait; a wait inside a wait or
    // inside guest code is misuse.
    {{{S::waiting, P::keep, A::none}, violation(S::waiting), violation(S::woken),
      violation(S::running_in_guest), violation(S::interrupted_guest)}},
    // rearm_wait: after the futex returns the waiter is waiting (timeout or
    // spurious wake-up) or woken; it marks itself waiting before re-checking.
    {{violation(S::running_in_host), stay(S::waiting), {S::waiting, P::keep, A::none},
      violation(S::running_in_guest), violation(S::interrupted_guest)}},
    // end_wait: the waiter returns to host code; the pending bit survives.
    {{violation(S::running_in_host), {S::running_in_host, P::keep, A::none},
      {S::running_in_host, P::keep, A::none}, violation(S::running_in_guest),
      violation(S::interrupted_guest)}},
    // wake: only a waiting thread is woken; wake never touches guest code.
    {{stay(S::running_in_host), {S::woken, P::keep, A::futex_wake}, stay(S::woken),
      stay(S::running_in_guest), stay(S::interrupted_guest)}},
    // interrupt: always records the request; a waiter is woken, a guest is
    // forced back through the platform.
    {{{S::running_in_host, P::set, A::none}, {S::woken, P::set, A::futex_wake},
      {S::woken, P::set, A::none}, {S::interrupted_guest, P::set, A::platform_interrupt},
      {S::interrupted_guest, P::set, A::none}}},
    // take_interrupt: the owning thread consumes the request in any state.
    {{{S::running_in_host, P::clear, A::none}, {S::waiting, P::clear, A::none},
      {S::woken, P::clear, A::none}, {S::running_in_guest, P::clear, A::none},
      {S::interrupted_guest, P::clear, A::none}}},
    // prepare_guest: guest code may start only from host code.
    {{{S::running_in_guest, P::keep, A::none}, violation(S::waiting), violation(S::woken),
      violation(S::running_in_guest), violation(S::interrupted_guest)}},
    // guest_not_ready: the guest did not start; back to host code.
    {{violation(S::running_in_host), violation(S::waiting), violation(S::woken),
      {S::running_in_host, P::keep, A::none}, {S::running_in_host, P::keep, A::none}}},
    // finish_guest: the guest returned, interrupted or not.
    {{violation(S::running_in_host), violation(S::waiting), violation(S::woken),
      {S::running_in_host, P::keep, A::none}, {S::running_in_host, P::keep, A::none}}},
    // platform_interrupt_delivered: acts only while the interrupt is due; a
    // late delivery in any other state does nothing.
    {{stay(S::running_in_host), stay(S::waiting), stay(S::woken), stay(S::running_in_guest),
      {S::interrupted_guest, P::keep, A::return_to_host}}},
}};

}  // namespace detail

constexpr Transition transition(State state, Event event) {
  return detail::table[static_cast<std::size_t>(event)][static_cast<std::size_t>(state)];
}

// The whole table: rows are events, columns are states.
constexpr const std::array<std::array<Transition, state_count>, event_count>& table() { return detail::table; }

// Bit layout of the state word.
inline constexpr std::uint32_t state_mask = 0x7;
inline constexpr std::uint32_t pending_bit = 0x8;

constexpr State state_of(std::uint32_t word) { return static_cast<State>(word & state_mask); }
constexpr bool is_pending(std::uint32_t word) { return (word & pending_bit) != 0; }
constexpr bool is_valid_word(std::uint32_t word) {
  return (word & ~(state_mask | pending_bit)) == 0 &&
         (word & state_mask) < static_cast<std::uint32_t>(state_count);
}
constexpr std::uint32_t make_word(State state, bool pending) {
  return static_cast<std::uint32_t>(state) | (pending ? pending_bit : 0);
}

// Returns the word after transition `t`, given the word before it.
constexpr std::uint32_t apply_transition(std::uint32_t word, Transition t) {
  bool pending = is_pending(word);
  if (t.pending == Pending::set) pending = true;
  if (t.pending == Pending::clear) pending = false;
  return make_word(t.next, pending);
}

// Returns the word after `event`, given the word before it. Only meaningful
// when the transition's action is not a contract violation.
constexpr std::uint32_t next_word(std::uint32_t word, Event event) {
  return apply_transition(word, transition(state_of(word), event));
}

inline constexpr std::array<State, state_count> all_states{
    State::running_in_host, State::waiting, State::woken, State::running_in_guest,
    State::interrupted_guest};
inline constexpr std::array<Event, event_count> all_events{
    Event::start_wait,    Event::rearm_wait,      Event::end_wait,     Event::wake,
    Event::interrupt,     Event::take_interrupt,  Event::prepare_guest, Event::guest_not_ready,
    Event::finish_guest,  Event::platform_interrupt_delivered};

constexpr std::string_view name(State s) {
  switch (s) {
    case State::running_in_host: return "running_in_host";
    case State::waiting: return "waiting";
    case State::woken: return "woken";
    case State::running_in_guest: return "running_in_guest";
    case State::interrupted_guest: return "interrupted_guest";
  }
  return "invalid";
}

constexpr std::string_view name(Event e) {
  switch (e) {
    case Event::start_wait: return "start_wait";
    case Event::rearm_wait: return "rearm_wait";
    case Event::end_wait: return "end_wait";
    case Event::wake: return "wake";
    case Event::interrupt: return "interrupt";
    case Event::take_interrupt: return "take_interrupt";
    case Event::prepare_guest: return "prepare_guest";
    case Event::guest_not_ready: return "guest_not_ready";
    case Event::finish_guest: return "finish_guest";
    case Event::platform_interrupt_delivered: return "platform_interrupt_delivered";
  }
  return "invalid";
}

constexpr std::string_view name(Action a) {
  switch (a) {
    case Action::none: return "none";
    case Action::futex_wake: return "futex_wake";
    case Action::platform_interrupt: return "platform_interrupt";
    case Action::return_to_host: return "return_to_host";
    case Action::contract_violation: return "contract_violation";
  }
  return "invalid";
}

}  // namespace intr::model
