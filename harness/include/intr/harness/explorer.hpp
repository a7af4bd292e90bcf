// The explorer: runs a scenario again and again, each time under a different
// schedule, until every schedule that matters has run or a check fails.
//
// Strategies:
//  - dpor: exhaustive depth-first search with dynamic partial-order
//    reduction (persistent sets found from races, plus sleep sets). Two
//    steps depend on each other when they access the same location and at
//    least one writes. Futex calls write their word, a timeout writes the
//    clock, and seq_cst accesses also touch the global SC view.
//  - dfs: exhaustive depth-first search over every interleaving.
//  - random: `iterations` executions with uniformly random choices.
//  - pct: `iterations` executions of probabilistic concurrency testing:
//    random thread priorities and `pct_depth - 1` random priority changes.
//
// A preemption bound limits how often a schedule switches away from a
// thread that could have continued. With a bound, dpor runs as plain dfs
// inside the bound, because DPOR's backtracking points can lie beyond it.
//
// Checks in every execution: check() in scenarios, contract violations of
// the core, deadlock (no thread can run and no timeout, spurious wake-up or
// signal delivery can fire), the step bound, and liveness: every interrupt
// that a ThreadHandle recorded is still pending when the execution ends or
// was cleared afterwards by its thread.
#pragma once

#include <intr/harness/scenario.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace intr::harness {

enum class Strategy : std::uint8_t { dpor, dfs, random, pct };

struct Progress {
  std::uint64_t executions = 0;
  double seconds = 0;
};

struct Options {
  Strategy strategy = Strategy::dpor;
  std::optional<std::uint32_t> preemption_bound;  // none by default
  std::uint64_t seed = 1;                         // random and pct
  std::uint64_t iterations = 10000;               // random and pct: executions to run
  std::uint32_t pct_depth = 3;                    // pct: the bug depth it targets
  std::uint32_t step_bound = 1000;                // steps per execution before it fails
  std::uint32_t spurious_wakeups = 1;             // spurious futex returns per execution
  std::uint64_t max_executions = 0;               // 0: no limit; otherwise stop, incomplete
  std::uint32_t shard_index = 0;                  // this shard, from 0
  std::uint32_t shard_count = 1;                  // exhaustive strategies: parts of the tree
  bool shrink = true;                             // search a failure with fewer preemptions
  bool record_steps = true;                       // fill Failure::steps
  std::function<void(const Progress&)> progress;  // called about every 0.25 s
};

enum class FailureKind : std::uint8_t { assertion, contract_violation, deadlock, step_bound, liveness, capacity };

const char* to_string(FailureKind kind);

// One step of a failing execution, for the step table and the diagram.
struct Step {
  std::uint32_t index = 0;
  std::string thread;
  std::string operation;  // what the thread did, with the memory order
  std::string location;   // which atomic, e.g. "word(waiter)"
  std::string before;     // the location before the step ("waiting+pending")
  std::string after;      // and after it
};

struct Failure {
  FailureKind kind = FailureKind::assertion;
  std::string message;                  // what went wrong
  std::string thread;                   // where, when one thread is to blame
  std::vector<std::uint32_t> choices;   // the schedule that reproduces it
  std::uint32_t preemptions = 0;        // in that schedule
  std::uint32_t original_preemptions = 0;  // before shrinking
  std::vector<Step> steps;
};

struct Result {
  std::string scenario;
  bool complete = false;           // exhaustive search ran to the end
  std::uint64_t executions = 0;    // executions run
  std::uint64_t redundant = 0;     // executions that DPOR's sleep sets cut short
  std::uint64_t pruned = 0;        // branches that DPOR never had to run
  double seconds = 0;
  std::uint32_t threads = 0;       // logical threads of the last execution
  std::optional<Failure> failure;

  // Whether the result is what the scenario claims. An expected failure
  // must contain Scenario::expected_failure in "<kind>: <message>".
  bool as_expected(const Scenario& claim) const {
    if (claim.expectation == Expectation::holds) return !failure.has_value();
    if (!failure) return false;
    std::string text = std::string(to_string(failure->kind)) + ": " + failure->message;
    return text.find(claim.expected_failure) != std::string::npos;
  }
};

// Raised by replay() when the choices do not fit the scenario. The message
// names the choice and what was expected instead.
class ReplayError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Explores `scenario` with `options` until a failure or the end.
Result explore(const Scenario& scenario, const Options& options = {});

// Runs the one execution that `choices` describe, with the step record.
Result replay(const Scenario& scenario, const std::vector<std::uint32_t>& choices, const Options& options = {});

}  // namespace intr::harness
