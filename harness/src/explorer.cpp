#include "engine.hpp"
#include "search.hpp"

#include <intr/harness/explorer.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>

namespace intr::harness {

namespace {

using runtime::Engine;
using runtime::OpKind;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t max_step_bound = 30000;
constexpr std::uint64_t shrink_budget = 20000;  // executions per preemption bound

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void validate(const Options& options) {
  if (options.shard_count == 0 || options.shard_index >= options.shard_count) {
    throw std::invalid_argument("shard " + std::to_string(options.shard_index) + "/" +
                                std::to_string(options.shard_count) +
                                " is out of range; the index must be below the count, which must be at least 1");
  }
  if (options.step_bound == 0 || options.step_bound > max_step_bound) {
    throw std::invalid_argument("step bound " + std::to_string(options.step_bound) + " is out of range; use 1 to " +
                                std::to_string(max_step_bound));
  }
  if (options.pct_depth == 0) throw std::invalid_argument("pct depth 0 is invalid; use 1 or more");
}

const char* order_name(std::memory_order order) {
  switch (order) {
    case std::memory_order_relaxed: return "relaxed";
    case std::memory_order_consume: return "consume";
    case std::memory_order_acquire: return "acquire";
    case std::memory_order_release: return "release";
    case std::memory_order_acq_rel: return "acq_rel";
    case std::memory_order_seq_cst: return "seq_cst";
  }
  return "?";
}

const char* trace_note(int point, std::uint32_t value) {
  switch (static_cast<TracePoint>(point)) {
    case TracePoint::interrupt_requested: return "interrupt() called";
    case TracePoint::wait_woken: return "futex wake of the waiter follows";
    case TracePoint::wait_started: return "wait started";
    case TracePoint::wait_ended:
      return value == 0 ? "wait ended: ready" : value == 1 ? "wait ended: interrupted" : "wait ended: timed_out";
    case TracePoint::guest_returned: return "guest run finished";
  }
  return "trace";
}

std::string describe_operation(const Engine& engine, const runtime::RawStep& raw) {
  std::string order = order_name(raw.order);
  switch (static_cast<OpKind>(raw.kind)) {
    case OpKind::load: return "load(" + order + ")";
    case OpKind::store: return "store(" + order + ")";
    case OpKind::compare_exchange: return raw.detail == 1 ? "CAS(" + order + ") writes" : "CAS fails, load(" + order + ")";
    case OpKind::modify: return "read-modify-write(" + order + ")";
    case OpKind::futex_wait:
      if (raw.detail == 0) return "futex wait: word differs, returns";
      return raw.detail == 2 ? "futex wait: blocks until the deadline" : "futex wait: blocks";
    case OpKind::futex_wake: return raw.detail == 1 ? "futex wake: wakes the waiter" : "futex wake: nobody waits";
    case OpKind::futex_return: return raw.detail == 1 ? "timeout fires; futex returns" : "spurious futex wake-up";
    case OpKind::clock: return "now() = " + std::to_string(raw.before) + " ns";
    case OpKind::signal:
      switch (raw.detail) {
        case 0: return "sends a platform interrupt to " + engine.thread_name(raw.location);
        case 1: return "signal handler: returns the guest to the host";
        case 2: return "signal handler: late signal, does nothing";
        default: return "platform interrupt not sent: " + engine.thread_name(raw.location) + " has exited";
      }
  }
  return "note";
}

std::vector<Step> describe_steps(const Engine& engine) {
  std::vector<Step> steps;
  std::uint32_t index = 0;
  for (const runtime::RawStep& raw : engine.raw_steps()) {
    Step step;
    step.index = ++index;
    step.thread = engine.thread_name(raw.thread);
    if (raw.kind >= 100) {
      step.operation = trace_note(raw.kind - 100, static_cast<std::uint32_t>(raw.before));
      steps.push_back(std::move(step));
      continue;
    }
    step.operation = describe_operation(engine, raw);
    auto kind = static_cast<OpKind>(raw.kind);
    bool on_atomic = kind != OpKind::clock && !(kind == OpKind::signal && raw.detail != 1 && raw.detail != 2) &&
                     raw.location >= 0;
    if (on_atomic) {
      step.location = engine.location_name(raw.location);
      bool shows_value = kind == OpKind::load || kind == OpKind::store || kind == OpKind::compare_exchange ||
                         kind == OpKind::modify || kind == OpKind::futex_wait || kind == OpKind::signal;
      if (shows_value) {
        step.before = engine.describe_value(raw.location, raw.before);
        step.after = engine.describe_value(raw.location, raw.after);
      }
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

Failure failure_of(const Engine& engine) {
  Failure failure = engine.failure();
  failure.choices = engine.choices();
  failure.preemptions = engine.preemptions();
  failure.original_preemptions = engine.preemptions();
  return failure;
}

bool same_failure(const Failure& a, const Failure& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == FailureKind::assertion || a.kind == FailureKind::contract_violation) return a.message == b.message;
  return true;
}

Engine::Settings settings_of(const Options& options, bool record) {
  return {options.step_bound, options.spurious_wakeups, record};
}

// Searches, bound by bound, for a failure like `failure` with fewer
// preemptions; plain DFS inside a bound finds one if it exists.
void shrink(Engine& engine, const Scenario& scenario, const Options& options, Failure& failure) {
  Engine::Settings settings = settings_of(options, false);
  for (std::uint32_t bound = 0; bound < failure.preemptions; ++bound) {
    runtime::TreeSearch search({false, bound, 0, 1});
    std::uint64_t executions = 0;
    do {
      search.begin_execution();
      bool failed = engine.run(scenario, search, settings);
      if (failed && same_failure(engine.failure(), failure)) {
        std::uint32_t original = failure.original_preemptions;
        failure = failure_of(engine);
        failure.original_preemptions = original;
        return;
      }
    } while (++executions < shrink_budget && search.next_execution());
  }
}

// Runs `choices` once with the step record; returns false when the
// execution did not fail.
bool record_failure(Engine& engine, const Scenario& scenario, const Options& options, Failure& failure) {
  runtime::ReplaySearch replay(failure.choices);
  bool failed = engine.run(scenario, replay, settings_of(options, true));
  failure.steps = describe_steps(engine);
  return failed && replay.error().empty();
}

class ProgressReporter {
 public:
  ProgressReporter(const Options& options, Clock::time_point start) : options_(options), start_(start) {}

  void tick(std::uint64_t executions) {
    if (!options_.progress || (executions & 1023) != 0) return;
    double now = seconds_since(start_);
    if (now - last_ < 0.25) return;
    last_ = now;
    options_.progress({executions, now});
  }

 private:
  const Options& options_;
  Clock::time_point start_;
  double last_ = 0;
};

void explore_tree(Engine& engine, const Scenario& scenario, const Options& options, Result& result,
                  ProgressReporter& progress) {
  bool bounded = options.preemption_bound.has_value();
  runtime::TreeSearch search(
      {options.strategy == Strategy::dpor && !bounded, options.preemption_bound, options.shard_index,
       options.shard_count});
  Engine::Settings settings = settings_of(options, false);
  do {
    search.begin_execution();
    bool failed = engine.run(scenario, search, settings);
    search.end_execution();
    if (search.foreign()) continue;
    if (search.redundant()) {
      ++result.redundant;
    } else {
      ++result.executions;
    }
    if (failed) {
      result.failure = failure_of(engine);
      break;
    }
    progress.tick(result.executions);
    if (options.max_executions != 0 && result.executions >= options.max_executions) {
      result.pruned = search.pruned();
      return;
    }
  } while (search.next_execution());
  result.pruned = search.pruned();
  result.complete = !result.failure.has_value();
}

void explore_random(Engine& engine, const Scenario& scenario, const Options& options, Result& result,
                    ProgressReporter& progress) {
  std::uint64_t seed = options.seed * 0x9e3779b97f4a7c15ull + options.shard_index;
  runtime::RandomSearch random(seed);
  runtime::PctSearch pct(seed, options.pct_depth);
  Engine::Settings settings = settings_of(options, false);
  std::uint32_t expected_steps = 50;
  for (std::uint64_t i = options.shard_index; i < options.iterations; i += options.shard_count) {
    bool failed = false;
    if (options.strategy == Strategy::pct) {
      pct.begin_execution(expected_steps);
      failed = engine.run(scenario, pct, settings);
      expected_steps = std::max(expected_steps, engine.steps());
    } else {
      failed = engine.run(scenario, random, settings);
    }
    ++result.executions;
    if (failed) {
      result.failure = failure_of(engine);
      return;
    }
    progress.tick(result.executions);
  }
}

}  // namespace

Result explore(const Scenario& scenario, const Options& options) {
  validate(options);
  auto engine = std::make_unique<Engine>();
  Result result;
  result.scenario = scenario.name;
  Clock::time_point start = Clock::now();
  ProgressReporter progress(options, start);
  if (options.strategy == Strategy::dpor || options.strategy == Strategy::dfs) {
    explore_tree(*engine, scenario, options, result, progress);
  } else {
    explore_random(*engine, scenario, options, result, progress);
  }
  result.threads = engine->thread_count();
  if (result.failure) {
    Failure& failure = *result.failure;
    if (options.shrink && failure.preemptions > 0) shrink(*engine, scenario, options, failure);
    if (options.record_steps && !record_failure(*engine, scenario, options, failure)) {
      failure.message += " (NOTE: replaying the schedule did not fail again; is the scenario deterministic?)";
    }
  }
  result.seconds = seconds_since(start);
  return result;
}

Result replay(const Scenario& scenario, const std::vector<std::uint32_t>& choices, const Options& options) {
  validate(options);
  auto engine = std::make_unique<Engine>();
  Result result;
  result.scenario = scenario.name;
  Clock::time_point start = Clock::now();
  runtime::ReplaySearch search(choices);
  bool failed = engine->run(scenario, search, settings_of(options, true));
  std::string error = search.error();
  if (!error.empty()) {
    throw ReplayError("the schedule does not fit scenario " + scenario.name + ": " + error +
                      "; was it recorded for another scenario or another version of intr?");
  }
  result.executions = 1;
  result.complete = true;
  if (failed) {
    Failure failure = failure_of(*engine);
    failure.steps = describe_steps(*engine);
    result.failure = std::move(failure);
  }
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace intr::harness
