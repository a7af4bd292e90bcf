// Tests of the explorer against the real core: every built-in scenario
// holds, every mutant is killed, failures replay and shrink, deadlocks name
// every thread, and shards add up to the full search.
#include <intr/harness/explorer.hpp>
#include <intr/harness/format.hpp>
#include <intr/harness/mutants.hpp>
#include <intr/harness/report.hpp>
#include <intr/harness/scenarios.hpp>

#include <catch2/catch.hpp>

#include <optional>

namespace {

namespace h = intr::harness;
using intr::WaitResult;

const h::Scenario& builtin(const char* name) {
  const h::Scenario* scenario = h::find_builtin_scenario(name);
  REQUIRE(scenario != nullptr);
  return *scenario;
}

// A waiter that sleeps without deadline, and no thread that wakes it.
h::Scenario forgotten_waiter() {
  return {"forgotten_waiter", "a sleep that nothing ends", [](h::Setup& setup) {
            setup.thread("sleeper", [] {
              h::WaitState state;
              state.context().sleep();
            });
            setup.thread("bystander", [] {});
          }};
}

// Two threads increment a counter with a load and a store: a lost update
// needs one preemption between the load and the store.
h::Scenario lost_update() {
  return {"lost_update", "two read-then-write increments", [](h::Setup& setup) {
            auto& counter = setup.make<h::Atomic<int>>(0);
            auto increment = [&counter] { counter.store(counter.load() + 1); };
            setup.thread("first", increment);
            setup.thread("second", increment);
            setup.finally([&counter] { h::check(counter.load() == 2, "both increments count"); });
          }};
}

}  // namespace

TEST_CASE("built-in scenarios meet their claim on the correct core") {
  REQUIRE(h::builtin_scenarios().size() >= 12);
  for (const h::Scenario& scenario : h::builtin_scenarios()) {
    INFO("scenario " << scenario.name);
    h::Result result = h::explore(scenario);
    if (result.failure) INFO(h::failure_report(scenario, *result.failure));
    CHECK(result.as_expected(scenario));
    if (scenario.expectation == h::Expectation::holds) CHECK(result.complete);
  }
}

TEST_CASE("weak reason publication loses the wake-up, seq_cst does not") {
  for (const char* name : {"demo_reason_wake_release", "demo_reason_interrupt_release"}) {
    INFO("scenario " << name);
    h::Result weak = h::explore(builtin(name));
    REQUIRE(weak.failure);
    CHECK(weak.failure->kind == h::FailureKind::deadlock);
    CHECK(builtin(name).expectation == h::Expectation::fails);
  }
  for (const char* name : {"reason_wake_seq_cst", "reason_interrupt_seq_cst"}) {
    INFO("scenario " << name);
    h::Result strong = h::explore(builtin(name));
    CHECK_FALSE(strong.failure);
    CHECK(strong.complete);
  }
}

TEST_CASE("random and pct strategies find the store-buffering lost wake-up") {
  h::Options options;
  options.iterations = 20000;
  options.strategy = h::Strategy::random;
  options.seed = 7;
  CHECK(h::explore(builtin("demo_reason_wake_release"), options).failure);
  options.strategy = h::Strategy::pct;
  CHECK(h::explore(builtin("demo_reason_wake_release"), options).failure);
}

TEST_CASE("every mutant is killed by some built-in scenario") {
  REQUIRE(h::all_mutants().size() >= 10);
  for (const h::Mutant& mutant : h::all_mutants()) {
    INFO("mutant " << mutant.name);
    h::ActiveMutant active(mutant);
    bool killed = false;
    for (const h::Scenario& scenario : h::builtin_scenarios()) {
      h::Options options;
      options.shrink = false;
      options.record_steps = false;
      if (!h::explore(scenario, options).as_expected(scenario)) {
        killed = true;
        break;
      }
    }
    CHECK(killed);
  }
}

TEST_CASE("deadlock report names every thread's state") {
  h::Result result = h::explore(forgotten_waiter());
  REQUIRE(result.failure);
  CHECK(result.failure->kind == h::FailureKind::deadlock);
  CHECK(result.failure->message.find("sleeper: blocked in a futex wait on word(sleeper) = waiting") !=
        std::string::npos);
  CHECK(result.failure->message.find("bystander: finished") != std::string::npos);
}

TEST_CASE("a replayed schedule reproduces the failure step by step") {
  h::ActiveMutant active(*h::find_mutant("wake_without_futex_wake"));
  const h::Scenario& scenario = builtin("wait_vs_wake");
  h::Result found = h::explore(scenario);
  REQUIRE(found.failure);

  std::string text = h::schedule_string(scenario, *found.failure);
  h::Schedule schedule = h::decode_schedule(text);
  CHECK(schedule.scenario == "wait_vs_wake");
  h::Result replayed = h::replay(scenario, schedule.choices);
  REQUIRE(replayed.failure);
  CHECK(replayed.failure->kind == found.failure->kind);
  CHECK(replayed.failure->message == found.failure->message);
  REQUIRE(replayed.failure->steps.size() == found.failure->steps.size());
  for (std::size_t i = 0; i < replayed.failure->steps.size(); ++i) {
    CHECK(replayed.failure->steps[i].operation == found.failure->steps[i].operation);
    CHECK(replayed.failure->steps[i].after == found.failure->steps[i].after);
  }

  std::string report = h::failure_report(scenario, *found.failure);
  CHECK(report.rfind("scenario: wait_vs_wake\nreplay:   intr check --replay intr1:", 0) == 0);
  CHECK(report.find("sequenceDiagram") != std::string::npos);
}

TEST_CASE("replay rejects choices that do not fit the scenario") {
  const h::Scenario& scenario = builtin("wait_vs_interrupt");
  CHECK_THROWS_AS(h::replay(scenario, {}), h::ReplayError);
  CHECK_THROWS_AS(h::replay(scenario, {5, 5, 5}), h::ReplayError);
  std::vector<std::uint32_t> too_long(4000, 0);
  CHECK_THROWS_AS(h::replay(scenario, too_long), h::ReplayError);
}

TEST_CASE("shrinking finds the lost update with one preemption") {
  h::Options options;
  options.strategy = h::Strategy::dfs;
  h::Result result = h::explore(lost_update(), options);
  REQUIRE(result.failure);
  CHECK(result.failure->preemptions == 1);
  CHECK(result.failure->preemptions <= result.failure->original_preemptions);

  h::Options random;
  random.strategy = h::Strategy::random;
  random.iterations = 5000;
  random.seed = 3;
  h::Result found = h::explore(lost_update(), random);
  REQUIRE(found.failure);
  CHECK(found.failure->preemptions == 1);
}

TEST_CASE("shards of an exhaustive search add up to the full verdict") {
  for (const char* name : {"wait_vs_interrupt", "timeout_vs_interrupt", "demo_reason_wake_release"}) {
    INFO("scenario " << name);
    const h::Scenario& scenario = builtin(name);
    h::Result full = h::explore(scenario);
    std::vector<h::CheckReport> reports;
    for (std::uint32_t shard = 0; shard < 3; ++shard) {
      h::Options options;
      options.shard_index = shard;
      options.shard_count = 3;
      h::Result part = h::explore(scenario, options);
      h::CheckReport report;
      report.scenarios.push_back({scenario.name, part.failure ? "fail" : "pass", part.executions, part.seconds});
      reports.push_back(report);
    }
    h::CheckReport merged = h::merge_reports(reports);
    REQUIRE(merged.scenarios.size() == 1);
    CHECK(merged.scenarios[0].verdict == (full.failure ? "fail" : "pass"));
    if (!full.failure) CHECK(merged.scenarios[0].executions >= full.executions);
  }
}

TEST_CASE("DPOR explores fewer executions than DFS with the same verdict") {
  h::Options dfs;
  dfs.strategy = h::Strategy::dfs;
  for (const char* name : {"wait_vs_wake", "wait_vs_interrupt", "timeout_vs_interrupt", "late_signal"}) {
    INFO("scenario " << name);
    h::Result plain = h::explore(builtin(name), dfs);
    h::Result reduced = h::explore(builtin(name));
    CHECK(plain.failure.has_value() == reduced.failure.has_value());
    CHECK(reduced.executions < plain.executions);
  }
}

TEST_CASE("a preemption bound of zero runs each thread to its end") {
  h::Options options;
  options.preemption_bound = 0;
  h::Result result = h::explore(lost_update(), options);
  CHECK_FALSE(result.failure);
  CHECK(result.complete);
}

TEST_CASE("explore rejects out-of-range options") {
  h::Options options;
  options.shard_index = 3;
  options.shard_count = 3;
  CHECK_THROWS_AS(h::explore(lost_update(), options), std::invalid_argument);
  options = {};
  options.step_bound = 0;
  CHECK_THROWS_AS(h::explore(lost_update(), options), std::invalid_argument);
}
