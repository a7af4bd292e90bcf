// Table mutants: named, deliberately broken copies of the transition table.
//
// Each mutant changes exactly one (event, state) entry of the correct table
// in transitions.hpp. The model checker runs the real core with a mutant's
// table and must report a failure. The Promela export builds a Spin model
// from the same tables. A mutant that neither catches shows a property or a
// scenario that has no teeth.
//
// Mutant names are stable identifiers: `intr check --mutants`, the Spin
// cross-check and their JSON reports use them as keys.
#pragma once

#include <intr/model/transitions.hpp>

#include <array>
#include <cstddef>
#include <string_view>

namespace intr::model {

// A complete transition table: rows are events, columns are states, in the
// order of Event and State.
using Table = std::array<std::array<Transition, state_count>, event_count>;

// Returns the transition of `table` for `state` and `event`.
constexpr Transition transition(const Table& table, State state, Event event) {
  return table[static_cast<std::size_t>(event)][static_cast<std::size_t>(state)];
}

// Returns a copy of `table` whose entry for (`event`, `state`) is `replacement`.
constexpr Table with_entry(Table table, Event event, State state, Transition replacement) {
  table[static_cast<std::size_t>(event)][static_cast<std::size_t>(state)] = replacement;
  return table;
}

struct TableMutant {
  std::string_view name;         // stable identifier, snake_case
  std::string_view description;  // the fault, and the property it should break
  Table table;
};

inline constexpr std::array<TableMutant, 8> table_mutants{{
    {"interrupt_waiter_without_wake",
     "interrupt moves a waiting thread to woken but does not wake its futex, so a blocked waiter "
     "sleeps through the request (deadlock or lost interrupt)",
     with_entry(table(), Event::interrupt, State::waiting, {State::woken, Pending::set, Action::none})},
    {"interrupt_host_forgets_pending",
     "interrupt of a thread in host code does not set the pending bit, so its next wait never "
     "sees the request (lost interrupt)",
     with_entry(table(), Event::interrupt, State::running_in_host,
                {State::running_in_host, Pending::keep, Action::none})},
    {"wake_moves_guest",
     "wake moves a thread in guest code to woken, so its finish_guest finds a state it cannot "
     "leave (contract violation)",
     with_entry(table(), Event::wake, State::running_in_guest, {State::woken, Pending::keep, Action::none})},
    {"finish_guest_clears_pending",
     "finish_guest of an interrupted guest clears the pending bit, so the request is gone before "
     "the owner takes it (lost interrupt)",
     with_entry(table(), Event::finish_guest, State::interrupted_guest,
                {State::running_in_host, Pending::clear, Action::none})},
    {"prepare_guest_from_waiting",
     "prepare_guest is accepted inside a wait instead of being rejected, so guest code starts "
     "while the wait loop still runs (missing contract check)",
     with_entry(table(), Event::prepare_guest, State::waiting,
                {State::running_in_guest, Pending::keep, Action::none})},
    {"rearm_drops_woken_to_host",
     "rearm_wait of a woken waiter moves it to host code instead of waiting, so the wait loop "
     "continues in the wrong state (contract violation)",
     with_entry(table(), Event::rearm_wait, State::woken,
                {State::running_in_host, Pending::keep, Action::none})},
    {"guest_interrupt_without_platform_interrupt",
     "interrupt of a thread in guest code moves it to interrupted_guest but sends no platform "
     "interrupt, so a guest that runs until interrupted never returns (deadlock)",
     with_entry(table(), Event::interrupt, State::running_in_guest,
                {State::interrupted_guest, Pending::set, Action::none})},
    {"end_wait_stays_waiting",
     "end_wait leaves the state word at waiting, so the owner runs host code in a state that "
     "rejects its next wait or guest run (contract violation)",
     with_entry(table(), Event::end_wait, State::waiting, {State::waiting, Pending::keep, Action::none})},
}};

// Returns the mutant called `name`, or nullptr when there is none.
constexpr const TableMutant* find_table_mutant(std::string_view name) {
  for (const TableMutant& mutant : table_mutants) {
    if (mutant.name == name) return &mutant;
  }
  return nullptr;
}

// Returns the number of entries in which `mutant` differs from `correct`.
constexpr std::size_t count_changed_entries(const Table& mutant, const Table& correct) {
  std::size_t changed = 0;
  for (State state : all_states) {
    for (Event event : all_events) {
      Transition changed_entry = transition(mutant, state, event);
      Transition correct_entry = transition(correct, state, event);
      if (changed_entry.next != correct_entry.next || changed_entry.pending != correct_entry.pending ||
          changed_entry.action != correct_entry.action) {
        ++changed;
      }
    }
  }
  return changed;
}

namespace detail {

constexpr bool each_mutant_changes_one_entry() {
  for (const TableMutant& mutant : table_mutants) {
    if (count_changed_entries(mutant.table, model::table()) != 1) return false;
  }
  return true;
}

constexpr bool mutant_names_are_unique() {
  for (std::size_t i = 0; i < table_mutants.size(); ++i) {
    for (std::size_t j = i + 1; j < table_mutants.size(); ++j) {
      if (table_mutants[i].name == table_mutants[j].name) return false;
    }
  }
  return true;
}

}  // namespace detail

static_assert(detail::each_mutant_changes_one_entry(), "every table mutant must change exactly one entry");
static_assert(detail::mutant_names_are_unique(), "table mutant names must be unique");

}  // namespace intr::model
