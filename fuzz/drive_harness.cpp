// Fuzz target: the real core under the deterministic harness, with
// operations and schedules that the fuzzer chooses.
//
// The first byte picks a mode:
//  - a built-in scenario, explored with a random or PCT strategy whose seed,
//    iteration count and spurious wake-ups come from the input. The result
//    must be what the scenario claims. A failure, expected or not, must
//    reproduce when its schedule goes through encode_schedule,
//    decode_schedule and replay().
//  - a scenario built from the input: an owner thread runs a list of waits,
//    guest runs and interrupt queries. An interrupter and a waker run lists
//    of interrupts and wakes. Every wait has a deadline and every guest run
//    polls a bounded number of times, so no correct execution can deadlock.
//    The checks are the API's promises, so any failure is a bug in the core
//    or the harness.
#include <intr/harness/explorer.hpp>
#include <intr/harness/format.hpp>
#include <intr/harness/scenarios.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using intr::GuestEntry;
using intr::WaitResult;
namespace harness = intr::harness;

constexpr std::size_t max_owner_operations = 6;
constexpr std::size_t max_helper_operations = 4;
constexpr std::uint64_t max_iterations = 6;

enum class OwnerOperation : std::uint8_t { wait_for_flag, sleep, take_interrupt, cooperative_guest, query_pending };

struct Plan {
  std::vector<OwnerOperation> owner;
  std::vector<std::uint8_t> guest_polls;  // per cooperative_guest operation
  std::size_t interrupts = 0;
  std::size_t wakes = 0;
};

[[noreturn]] void report_bug(const std::string& scenario, const harness::Failure& failure, const char* what) {
  std::string schedule = harness::encode_schedule({scenario, failure.choices});
  std::fprintf(stderr, "drive_harness: %s\n  scenario: %s\n  failure (%s): %s\n  schedule: %s\n", what,
               scenario.c_str(), harness::to_string(failure.kind), failure.message.c_str(), schedule.c_str());
  std::abort();
}

harness::Options options_from(FuzzedDataProvider& input) {
  harness::Options options;
  options.strategy = input.ConsumeBool() ? harness::Strategy::pct : harness::Strategy::random;
  options.seed = input.ConsumeIntegral<std::uint64_t>();
  options.iterations = input.ConsumeIntegralInRange<std::uint64_t>(1, max_iterations);
  options.spurious_wakeups = input.ConsumeIntegralInRange<std::uint32_t>(0, 2);
  options.pct_depth = input.ConsumeIntegralInRange<std::uint32_t>(1, 4);
  options.shrink = false;
  options.record_steps = false;
  return options;
}

// Replays a failure through the schedule format, with the options that
// found it (spurious wake-ups are choices too); it must fail the same way.
void check_replay(const harness::Scenario& scenario, const harness::Failure& failure,
                  const harness::Options& options) {
  harness::Schedule schedule =
      harness::decode_schedule(harness::encode_schedule({scenario.name, failure.choices}));
  harness::Result again;
  try {
    again = harness::replay(scenario, schedule.choices, options);
  } catch (const harness::ReplayError& error) {
    report_bug(scenario.name, failure, error.what());
  }
  if (!again.failure) report_bug(scenario.name, failure, "a failing schedule passed when replayed");
  if (again.failure->kind != failure.kind) report_bug(scenario.name, failure, "a replay failed in another way");
}

void run_builtin(FuzzedDataProvider& input) {
  const std::vector<harness::Scenario>& scenarios = harness::builtin_scenarios();
  if (scenarios.empty()) return;
  const harness::Scenario& scenario = scenarios[input.ConsumeIntegralInRange<std::size_t>(0, scenarios.size() - 1)];
  harness::Options options = options_from(input);
  harness::Result result = harness::explore(scenario, options);
  bool unexpected_failure = scenario.expectation == harness::Expectation::holds && result.failure;
  if (unexpected_failure) report_bug(scenario.name, *result.failure, "a built-in scenario failed");
  if (result.failure) check_replay(scenario, *result.failure, options);
}

Plan plan_from(FuzzedDataProvider& input) {
  Plan plan;
  std::size_t owner_count = input.ConsumeIntegralInRange<std::size_t>(1, max_owner_operations);
  for (std::size_t i = 0; i < owner_count; ++i) {
    auto operation = static_cast<OwnerOperation>(input.ConsumeIntegralInRange<std::uint8_t>(0, 4));
    plan.owner.push_back(operation);
    if (operation == OwnerOperation::cooperative_guest) {
      plan.guest_polls.push_back(input.ConsumeIntegralInRange<std::uint8_t>(0, 3));
    }
  }
  plan.interrupts = input.ConsumeIntegralInRange<std::size_t>(0, max_helper_operations);
  plan.wakes = input.ConsumeIntegralInRange<std::size_t>(0, max_helper_operations);
  return plan;
}

// The data that the threads share. `sent` counts interrupt() calls, incremented
// before each call, so a taken interrupt never outnumbers it.
struct Shared {
  std::optional<harness::Handle> handle;
  std::optional<harness::Waker> waker;
  harness::Atomic<bool> flag{false};
  harness::Atomic<std::uint32_t> sent{0};
};

void run_owner_operation(harness::WaitState& state, Shared& shared, OwnerOperation operation, std::uint8_t polls,
                         std::uint32_t& taken) {
  switch (operation) {
    case OwnerOperation::wait_for_flag: {
      WaitResult result = state.context().with_timeout(5ms).wait_until([&] { return shared.flag.load(); });
      if (result == WaitResult::ready) harness::check(shared.flag.load(), "wait_until is ready only once the flag is set");
      if (result == WaitResult::interrupted) harness::check(state.interrupt_pending(), "an interrupted wait leaves the request pending");
      break;
    }
    case OwnerOperation::sleep: {
      WaitResult result = state.context().with_timeout(5ms).sleep();
      harness::check(result != WaitResult::ready, "sleep never returns ready");
      if (result == WaitResult::interrupted) harness::check(state.interrupt_pending(), "an interrupted sleep leaves the request pending");
      break;
    }
    case OwnerOperation::take_interrupt:
      if (state.take_interrupt()) {
        ++taken;
        harness::check(taken <= shared.sent.load(), "take_interrupt finds no more requests than were sent");
      }
      break;
    case OwnerOperation::cooperative_guest:
      if (state.prepare_to_run_guest() == GuestEntry::entered) {
        // The guest polls a bounded number of times, so it ends with or
        // without an interrupt.
        std::uint8_t poll = 0;
        while (poll < polls && !harness::interrupt_requested()) ++poll;
        if (state.finish_running_guest()) {
          harness::check(state.interrupt_pending(), "an interrupted guest run leaves the request pending");
        }
      }
      break;
    case OwnerOperation::query_pending:
      if (state.interrupt_pending()) harness::check(shared.sent.load() > taken, "a pending request was sent");
      break;
  }
}

harness::Scenario scenario_from(const Plan& plan) {
  return {"fuzz_operations", "an owner's waits and guest runs against fuzzer-chosen interrupts and wakes",
          [plan](harness::Setup& setup) {
            auto& shared = setup.make<Shared>();
            setup.thread("owner", [&shared, plan] {
              harness::WaitState state;
              shared.handle.emplace(state.thread_handle());
              shared.waker.emplace(state.waker());
              std::uint32_t taken = 0;
              std::size_t guest = 0;
              for (OwnerOperation operation : plan.owner) {
                std::uint8_t polls = operation == OwnerOperation::cooperative_guest ? plan.guest_polls[guest++] : 0;
                run_owner_operation(state, shared, operation, polls, taken);
              }
            });
            if (plan.interrupts > 0) {
              setup.thread("interrupter", [&shared, count = plan.interrupts] {
                for (std::size_t i = 0; i < count; ++i) {
                  shared.sent.fetch_add(1);
                  shared.handle->interrupt();
                }
              });
            }
            if (plan.wakes > 0) {
              setup.thread("waker", [&shared, count = plan.wakes] {
                for (std::size_t i = 0; i < count; ++i) {
                  shared.flag.store(true);
                  shared.waker->wake();
                }
              });
            }
          }};
}

void run_planned(FuzzedDataProvider& input) {
  Plan plan = plan_from(input);
  harness::Scenario scenario = scenario_from(plan);
  harness::Result result = harness::explore(scenario, options_from(input));
  if (result.failure) report_bug(scenario.name, *result.failure, "a scenario built from the input failed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  if (input.ConsumeBool()) {
    run_builtin(input);
  } else {
    run_planned(input);
  }
  return 0;
}
