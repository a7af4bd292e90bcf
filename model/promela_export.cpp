// intr_promela: prints a Promela model of the wait-state machine for Spin.
//
// The model is built from a transition table (the correct one from
// transitions.hpp, or a table mutant from mutants.hpp), so Spin checks the
// same table as the core and the harness. The owner thread runs waits and
// guest runs. Around it an interrupter, a waker and the platform's interrupt
// delivery act at any time, and the futex, timeouts and spurious wake-ups are
// modelled. docs/spin.md describes what the model covers and leaves out.
//
// Usage: intr_promela [--table NAME] [--rounds N] [--spurious N] > model.pml
//        intr_promela --list
#include <intr/model/mutants.hpp>
#include <intr/model/transitions.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

namespace {

using intr::model::Table;

constexpr std::string_view correct_table_name = "correct";

std::string upper(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string_view pending_name(intr::model::Pending change) {
  switch (change) {
    case intr::model::Pending::keep: return "KEEP";
    case intr::model::Pending::set: return "SET";
    case intr::model::Pending::clear: return "CLEAR";
  }
  return "KEEP";
}

// Writes a #define for every state, event, action and pending change, named
// after the C++ enumerators, so the Promela text reads like transitions.hpp.
void write_constants(std::ostream& out, int rounds, int spurious) {
  using namespace intr::model;
  out << "/* States, events and actions of transitions.hpp. */\n";
  for (State state : all_states) {
    out << "#define " << upper(name(state)) << ' ' << static_cast<int>(state) << '\n';
  }
  out << "#define STATES " << state_count << '\n';
  for (Event event : all_events) {
    out << "#define " << upper(name(event)) << ' ' << static_cast<int>(event) << '\n';
  }
  for (Action action : {Action::none, Action::futex_wake, Action::platform_interrupt, Action::return_to_host,
                        Action::contract_violation}) {
    out << "#define " << upper(name(action)) << ' ' << static_cast<int>(action) << '\n';
  }
  for (Pending change : {Pending::keep, Pending::set, Pending::clear}) {
    out << "#define " << pending_name(change) << ' ' << static_cast<int>(change) << '\n';
  }
  out << R"pml(
/* Results the owner gets: a wait's result or a guest entry. */
#define READY 0
#define TIMED_OUT 1
#define INTERRUPTED 2
#define ENTERED 3
#define NOT_READY 4

/* The owner's phase: host code, the wait loop or guest code. */
#define IN_HOST 0
#define IN_WAIT 1
#define IN_GUEST 2

)pml";
  out << "/* Bounds: waits or guest runs by the owner, spurious futex wake-ups. */\n";
  out << "#define OWNER_ROUNDS " << rounds << '\n';
  out << "#define SPURIOUS_WAKEUPS " << spurious << "\n\n";
}

// Writes the table as three arrays indexed by event * STATES + state, and
// an inline that fills them.
void write_table(std::ostream& out, const Table& table) {
  using namespace intr::model;
  constexpr std::size_t size = state_count * event_count;
  // Hidden: the table never changes after init, so it stays out of the
  // state vector.
  out << "hidden byte next_state[" << size << "];\nhidden byte pending_change[" << size
      << "];\nhidden byte action[" << size << "];\n";
  out << R"pml(
inline entry(ev, st, next, change, act) {
  next_state[ev * STATES + st] = next;
  pending_change[ev * STATES + st] = change;
  action[ev * STATES + st] = act
}

)pml";
  out << "inline fill_table() {\n";
  for (Event event : all_events) {
    for (State state : all_states) {
      Transition t = transition(table, state, event);
      out << "  entry(" << upper(name(event)) << ", " << upper(name(state)) << ", " << upper(name(t.next)) << ", "
          << pending_name(t.pending) << ", "
          << upper(name(t.action)) << ");\n";
    }
  }
  out << "}\n\n";
}

// The behaviour of the owner and its environment; the same for every table.
constexpr std::string_view model_body = R"pml(/* ---- the state word and the environment ---- */
byte state = RUNNING_IN_HOST;          /* the low bits of the word */
bool pending = false;       /* the sticky interrupt-pending bit */

bool blocked = false;       /* the owner sleeps in the futex */
bool futex_woken = false;   /* a futex wake reached the sleeping owner */
byte spurious_left = SPURIOUS_WAKEUPS;

bool signal_queued = false; /* a platform interrupt is on its way */
bool forced_back = false;   /* the interrupt handler forced the guest back */

bool ready_condition = false; /* the condition a waiter waits for */
bool owner_done = false;

/* Ghost variables for the properties. */
bool requested = false;     /* an interrupt was requested and not yet taken */
byte phase = IN_HOST;       /* the owner's code: host, wait loop or guest */

/* Invariants. Every step that changes the word, the request or the
   owner's phase ends with this check, so it is true in every reachable state. */
inline check_invariants() {
  assert(state < STATES);
  assert(!requested || pending);   /* a request stays pending until taken */
  assert(!pending || requested);   /* no pending bit without a request */
  assert(phase != IN_HOST || state == RUNNING_IN_HOST);
  assert(phase != IN_WAIT || state == WAITING || state == WOKEN);
  assert(phase != IN_GUEST || state == RUNNING_IN_GUEST || state == INTERRUPTED_GUEST)
}

/* Applies event `ev` to the word in one atomic step, as the core's
   compare-and-swap does. Leaves the table's action in `act` and the word
   before the step in `before_state` and `before_pending`. A contract
   violation leaves the word unchanged. */
inline apply(ev) {
  idx = ev * STATES + state;
  act = action[idx];
  before_state = state;
  before_pending = pending;
  if
  :: act != CONTRACT_VIOLATION ->
     if
     :: pending_change[idx] == SET -> pending = true
     :: pending_change[idx] == CLEAR -> pending = false
     :: else -> skip
     fi;
     state = next_state[idx]
  :: else -> skip
  fi
}

/* An owner step: legal in the owner's current phase, so the table must
   accept it. */
inline owner_step(ev, new_phase) {
  atomic { apply(ev); assert(act != CONTRACT_VIOLATION); phase = new_phase; check_invariants() }
}

/* Misuse: the table must reject `ev` in the current state. */
inline expect_violation(ev) {
  idx = ev * STATES + state;
  assert(action[idx] == CONTRACT_VIOLATION)
}

/* The owner consumes the request it observed. */
inline take_interrupt() {
  atomic { apply(TAKE_INTERRUPT); assert(act != CONTRACT_VIOLATION); requested = false; check_invariants() }
}

inline futex_wake() {
  atomic {
    if
    :: blocked -> futex_woken = true
    :: else -> skip
    fi
  }
}

/* Blocks while the word is exactly `waiting` with no pending bit, like
   futex(FUTEX_WAIT). Returns on a futex wake, on the deadline (when the
   wait has one) or on a spurious wake-up. */
inline futex_block() {
  atomic {
    if
    :: state == WAITING && !pending -> blocked = true
    :: else -> skip
    fi
  };
  if
  :: blocked ->
     if
     :: atomic { futex_woken -> blocked = false; futex_woken = false }
     :: atomic { has_deadline -> blocked = false; futex_woken = false; expired = true }
     :: atomic { spurious_left > 0 -> spurious_left--; blocked = false; futex_woken = false }
     fi
  :: else -> skip
  fi
}

/* WaitState::wait: start, loop over ready / deadline / pending / block /
   rearm, end. */
inline wait_round() {
  owner_step(START_WAIT, IN_WAIT);
  atomic { expect_violation(START_WAIT); expect_violation(PREPARE_GUEST) };
  if
  :: has_deadline = true
  :: has_deadline = false
  fi;
  expired = false;
  do
  :: atomic { ready_condition -> ready_condition = false; result = READY }; break
  :: atomic { !ready_condition ->
       if
       :: has_deadline -> if :: expired = true :: skip fi
       :: else -> skip
       fi };
     if
     :: expired -> result = TIMED_OUT; break
     :: else -> skip
     fi;
     if
     :: pending -> result = INTERRUPTED; break
     :: else -> skip
     fi;
     futex_block();
     owner_step(REARM_WAIT, IN_WAIT)
  od;
  owner_step(END_WAIT, IN_HOST);
  if
  :: result == INTERRUPTED -> take_interrupt()
  :: else -> skip
  fi
}

/* WaitState::prepare_to_run_guest, a guest run, finish_running_guest. */
inline guest_round() {
  atomic {
    apply(PREPARE_GUEST); assert(act != CONTRACT_VIOLATION); phase = IN_GUEST; forced_back = false;
    check_invariants()
  };
  if
  :: before_pending -> result = INTERRUPTED
  :: !before_pending -> result = ENTERED
  :: !before_pending -> result = NOT_READY
  fi;
  if
  :: result != ENTERED ->
     owner_step(GUEST_NOT_READY, IN_HOST);
     if
     :: result == INTERRUPTED -> take_interrupt()
     :: else -> skip
     fi
  :: else ->
     atomic { expect_violation(START_WAIT); expect_violation(PREPARE_GUEST) };
     if
     :: skip          /* the guest returns by itself */
     :: skip -> forced_back  /* the guest runs until the platform forces it back */
     fi;
     atomic {
       apply(FINISH_GUEST); assert(act != CONTRACT_VIOLATION); phase = IN_HOST; forced_back = false;
       check_invariants()
     };
     if
     :: before_state == INTERRUPTED_GUEST -> take_interrupt()
     :: else -> skip
     fi
  fi
}

proctype owner() {
  byte idx, act, before_state, result;
  bool before_pending, has_deadline, expired;
  byte rounds = 0;
  do
  :: rounds < OWNER_ROUNDS ->
     rounds++;
     atomic {
       expect_violation(END_WAIT); expect_violation(REARM_WAIT);
       expect_violation(GUEST_NOT_READY); expect_violation(FINISH_GUEST)
     };
     if
     :: wait_round()
     :: guest_round()
     fi
  :: else -> break
  od;
  /* Like the WaitState destructor: the owner ends in host code, and takes
     a request still pending so that no request outlives it. */
  atomic {
    apply(TAKE_INTERRUPT); assert(act != CONTRACT_VIOLATION); requested = false; owner_done = true;
    check_invariants()
  };
  assert(state == RUNNING_IN_HOST)
}

/* ThreadHandle::interrupt, any number of times until the owner is done. */
proctype interrupter() {
  byte idx, act, before_state;
  bool before_pending;
  do
  :: atomic {
       !owner_done -> apply(INTERRUPT); assert(act != CONTRACT_VIOLATION); requested = true;
       check_invariants()
     };
     if
     :: act == FUTEX_WAKE -> futex_wake()
     :: act == PLATFORM_INTERRUPT -> signal_queued = true
     :: else -> skip
     fi
  :: owner_done -> break
  od
}

/* Waker::wake after making the condition true. */
proctype waker() {
  byte idx, act, before_state;
  bool before_pending;
  do
  :: atomic { !owner_done -> ready_condition = true };
     atomic { apply(WAKE); assert(act != CONTRACT_VIOLATION); check_invariants() };
     if
     :: act == FUTEX_WAKE -> futex_wake()
     :: else -> skip
     fi
  :: owner_done -> break
  od
}

/* The platform interrupt reaches the owner at any later point, possibly
   after the guest run it was meant for has ended. */
proctype delivery() {
  byte idx, act, before_state;
  bool before_pending;
end_delivery:
  do
  :: atomic {
       signal_queued -> signal_queued = false;
       apply(PLATFORM_INTERRUPT_DELIVERED); assert(act != CONTRACT_VIOLATION); check_invariants();
       if
       :: act == RETURN_TO_HOST -> forced_back = true
       :: else -> skip
       fi }
  :: owner_done && !signal_queued -> break
  od
}


ltl interrupt_observed { [] (requested -> <> !requested) }
)pml";

constexpr std::string_view model_init = R"pml(
init {
  atomic { fill_table() };
  atomic {
    run owner();
    run interrupter();
    run waker();
    run delivery()
  }
}
)pml";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Prints a Promela model of the intr wait-state machine for Spin", "intr_promela"};
  std::string table_name(correct_table_name);
  int rounds = 3;
  int spurious = 1;
  bool list = false;
  app.add_option("--table", table_name, "the table to export: 'correct' or a table mutant (see --list)")
      ->capture_default_str();
  app.add_option("--rounds", rounds, "waits or guest runs that the owner makes, 1 to 6")
      ->check(CLI::Range(1, 6))
      ->capture_default_str();
  app.add_option("--spurious", spurious, "spurious futex wake-ups that may happen, 0 to 3")
      ->check(CLI::Range(0, 3))
      ->capture_default_str();
  app.add_flag("--list", list, "print the table names, one per line, and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (list) {
    std::cout << correct_table_name << '\n';
    for (const intr::model::TableMutant& mutant : intr::model::table_mutants) std::cout << mutant.name << '\n';
    return 0;
  }

  const Table* table = &intr::model::table();
  std::string_view description = "the correct transition table";
  if (table_name != correct_table_name) {
    const intr::model::TableMutant* mutant = intr::model::find_table_mutant(table_name);
    if (mutant == nullptr) {
      std::fprintf(stderr, "intr_promela: unknown table '%s'; use 'correct' or a name that --list prints\n",
                   table_name.c_str());
      return 2;
    }
    table = &mutant->table;
    description = mutant->description;
  }

  std::cout << "/* Generated by intr_promela --table " << table_name << ": " << description << ". */\n\n";
  write_constants(std::cout, rounds, spurious);
  write_table(std::cout, *table);
  std::cout << model_body << model_init;
  return std::cout.good() ? 0 : 1;
}
