// The built-in scenarios. Each thread body is ordinary code against the real
// core; the checks state what every interleaving must satisfy.
#include <intr/harness/scenarios.hpp>

#include <chrono>
#include <optional>

namespace intr::harness {

namespace {

using namespace std::chrono_literals;
using intr::GuestEntry;
using intr::InterruptResult;
using intr::WaitResult;
using intr::WakeResult;

// The target's handle and waker, which the target thread hands over while
// it sets up and the other threads of most scenarios use.
struct Target {
  std::optional<Handle> handle;
  std::optional<Waker> waker;

  void publish(WaitState& state) {
    handle.emplace(state.thread_handle());
    waker.emplace(state.waker());
  }
};

bool requested(InterruptResult result) { return result != InterruptResult::thread_exited; }

Scenario wait_against_wake() {
  return {"wait_vs_wake", "a waiter waits for a flag that a waker sets with seq_cst and then wakes it",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            auto& ready = setup.make<Atomic<bool>>(false);
            setup.thread("waiter", [&] {
              WaitState state;
              target.publish(state);
              WaitResult result = state.context().wait_until([&] { return ready.load(); });
              check(result == WaitResult::ready, "wait_until returns ready once the flag is set");
            });
            setup.thread("waker", [&] {
              ready.store(true);
              target.waker->wake();
            });
          }};
}

Scenario wait_against_interrupt() {
  return {"wait_vs_interrupt", "a thread sleeps without deadline while another interrupts it",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            setup.thread("waiter", [&] {
              WaitState state;
              target.publish(state);
              check(state.context().sleep() == WaitResult::interrupted, "sleep returns interrupted");
              check(state.take_interrupt(), "take_interrupt finds the request that ended the sleep");
            });
            setup.thread("interrupter", [&] {
              check(requested(target.handle->interrupt()), "interrupt of a live thread is not thread_exited");
            });
          }};
}

Scenario timeout_and_interrupt() {
  return {"timeout_vs_interrupt", "a timed sleep whose deadline and an interrupt race",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            setup.thread("waiter", [&] {
              WaitState state;
              target.publish(state);
              auto context = state.context().with_timeout(10ms);
              WaitResult result = context.sleep();
              check(result == WaitResult::interrupted || result == WaitResult::timed_out,
                    "a sleep ends interrupted or timed out");
              if (result == WaitResult::timed_out) {
                check(context.remaining() == std::chrono::nanoseconds::zero(),
                      "a timed-out wait has no time remaining");
              } else {
                check(state.take_interrupt(), "an interrupted sleep leaves the request to take");
              }
            });
            setup.thread("interrupter", [&] { target.handle->interrupt(); });
          }};
}

Scenario two_interrupters() {
  return {"two_interrupters", "two threads interrupt one sleeping thread at once",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            setup.thread("waiter", [&] {
              WaitState state;
              target.publish(state);
              check(state.context().sleep() == WaitResult::interrupted, "sleep returns interrupted");
            });
            setup.thread("first", [&] { target.handle->interrupt(); });
            setup.thread("second", [&] { target.handle->interrupt(); });
          }};
}

Scenario interrupt_during_readiness_check() {
  return {"interrupt_during_ready_check",
          "an interrupt lands while prepare_to_run_guest runs its readiness check",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            auto& work = setup.make<Atomic<int>>(1);
            setup.thread("guest", [&] {
              WaitState state;
              target.publish(state);
              GuestEntry entry = state.prepare_to_run_guest([&] { return work.load() != 0; });
              if (entry == GuestEntry::entered) {
                bool polled = interrupt_requested();
                bool interrupted = state.finish_running_guest();
                check(!polled || interrupted, "a guest that saw the interrupt finishes interrupted");
                if (interrupted) check(state.take_interrupt(), "an interrupted guest run leaves the request");
              } else {
                check(entry == GuestEntry::interrupted, "the check only fails through an interrupt here");
                check(state.take_interrupt(), "prepare that reports interrupted leaves the request");
              }
            });
            setup.thread("interrupter", [&] { target.handle->interrupt(); });
          }};
}

Scenario preemptive_guest() {
  return {"preemptive_guest_vs_interrupt",
          "guest code that never polls runs until the platform interrupt returns it to the host",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            setup.thread("guest", [&] {
              WaitState state;
              target.publish(state);
              if (state.prepare_to_run_guest() == GuestEntry::entered) {
                run_guest_until_interrupted();
                check(state.finish_running_guest(), "a guest run ended by the signal finishes interrupted");
              }
              check(state.take_interrupt(), "the request is pending after the guest run");
            });
            setup.thread("interrupter", [&] { target.handle->interrupt(); });
          }};
}

Scenario late_signal() {
  return {"late_signal", "a guest run finishes while its interrupt signal is still on the way",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            setup.thread("guest", [&] {
              WaitState state;
              target.publish(state);
              std::uint32_t interrupted_runs = 0;
              for (int run = 0; run < 2; ++run) {
                if (state.prepare_to_run_guest() != GuestEntry::entered) {
                  state.take_interrupt();
                  continue;
                }
                if (state.finish_running_guest()) ++interrupted_runs;
                state.take_interrupt();
              }
              check(signals_received().accepted <= interrupted_runs,
                    "the handler acts only on a guest run that was interrupted; late signals do nothing");
            });
            setup.thread("interrupter", [&] { target.handle->interrupt(); });
          }};
}

Scenario double_interrupt_then_take() {
  return {"double_interrupt_then_take",
          "two interrupts in a row against a sleep and a take: they merge into one pending bit or the second "
          "stays pending",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            setup.thread("owner", [&] {
              WaitState state;
              target.publish(state);
              check(state.context().sleep() == WaitResult::interrupted, "sleep returns interrupted");
              check(state.take_interrupt(), "the first take finds a request");
            });
            setup.thread("interrupter", [&] {
              check(requested(target.handle->interrupt()), "the first interrupt is recorded");
              // The owner may have taken the first request and exited by now.
              target.handle->interrupt();
            });
          }};
}

Scenario predicate(bool set_before) {
  return {set_before ? "predicate_set_before_interrupt" : "predicate_set_after_interrupt",
          set_before ? "a custom interrupt flag is stored with seq_cst before interrupt()"
                     : "a custom interrupt flag is stored with seq_cst after interrupt()",
          [set_before](Setup& setup) {
            auto& target = setup.make<Target>();
            auto& reason = setup.make<Atomic<int>>(0);
            setup.thread("waiter", [&] {
              WaitState state;
              target.publish(state);
              auto context = state.context().with_check_for_interrupt([&] { return reason.load() != 0; });
              check(context.sleep() == WaitResult::interrupted, "sleep returns interrupted");
            });
            setup.thread("interrupter", [&, set_before] {
              if (set_before) reason.store(1);
              target.handle->interrupt();
              if (!set_before) reason.store(1);
            });
          }};
}

Scenario waker_against_interrupter() {
  return {"waker_vs_interrupter", "a waker and an interrupter race for one waiting thread",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            auto& ready = setup.make<Atomic<bool>>(false);
            setup.thread("waiter", [&] {
              WaitState state;
              target.publish(state);
              WaitResult result = state.context().wait_until([&] { return ready.load(); });
              check(result == WaitResult::ready || result == WaitResult::interrupted,
                    "the wait ends ready or interrupted");
              if (result == WaitResult::interrupted) check(state.take_interrupt(), "the interrupt is pending");
            });
            setup.thread("waker", [&] {
              ready.store(true);
              target.waker->wake();
            });
            setup.thread("interrupter", [&] { target.handle->interrupt(); });
          }};
}

// The store-buffering pair of the memory-ordering contract: the caller
// publishes a reason and then signals; the waiter publishes `waiting` and
// then reads the reason. wake() on a thread still in host code only reads
// the state word, so nothing but the reason's ordering saves the wake-up.
Scenario reason_then_wake(std::memory_order publish, std::memory_order read) {
  bool weak = publish != std::memory_order_seq_cst || read != std::memory_order_seq_cst;
  Scenario scenario{
      weak ? "demo_reason_wake_release" : "reason_wake_seq_cst",
      weak ? "EXPECTED FAILURE (documented misuse): a reason stored with release before wake() can be missed "
             "by a waiter that stores waiting and then reads it"
           : "a reason stored with seq_cst before wake() and read with seq_cst is never missed",
      [publish, read](Setup& setup) {
        auto& target = setup.make<Target>();
        auto& reason = setup.make<Atomic<int>>(0);
        setup.thread("waiter", [&, read] {
          WaitState state;
          target.publish(state);
          auto context = state.context().with_check_for_interrupt([&, read] { return reason.load(read) != 0; });
          check(context.sleep() == WaitResult::interrupted, "sleep sees the reason");
        });
        setup.thread("caller", [&, publish] {
          reason.store(1, publish);
          target.waker->wake();
        });
      }};
  if (weak) {
    scenario.expectation = Expectation::fails;
    scenario.expected_failure = "deadlock";
  }
  return scenario;
}

// The same pattern through interrupt(): the pending bit is already set by
// an earlier interrupt, the waiter takes it concurrently, and the second
// interrupt() reads the set bit and writes nothing.
Scenario reason_then_interrupt(std::memory_order publish) {
  bool weak = publish != std::memory_order_seq_cst;
  Scenario scenario{
      weak ? "demo_reason_interrupt_release" : "reason_interrupt_seq_cst",
      weak ? "EXPECTED FAILURE (documented misuse): a reason stored with release between two interrupt() calls "
             "can be missed while the waiter takes the first"
           : "a reason stored with seq_cst between two interrupt() calls is never missed",
      [publish](Setup& setup) {
        auto& target = setup.make<Target>();
        auto& reason = setup.make<Atomic<int>>(0);
        setup.thread("waiter", [&] {
          WaitState state;
          target.publish(state);
          state.take_interrupt();
          auto context = state.context().with_check_for_interrupt([&] { return reason.load() != 0; });
          check(context.sleep() == WaitResult::interrupted, "sleep sees the reason or the pending bit");
        });
        setup.thread("caller", [&, publish] {
          target.handle->interrupt();
          reason.store(1, publish);
          target.handle->interrupt();
        });
      }};
  if (weak) {
    scenario.expectation = Expectation::fails;
    scenario.expected_failure = "deadlock";
  }
  return scenario;
}

Scenario exited_thread_handle() {
  return {"interrupt_exited_thread", "interrupt() and wake() through handles whose thread exits meanwhile",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            setup.thread("owner", [&] {
              WaitState state;
              target.publish(state);
            });
            setup.thread("interrupter", [&] {
              InterruptResult result = target.handle->interrupt();
              check(result == InterruptResult::recorded || result == InterruptResult::thread_exited,
                    "a thread in host code or gone records the request or reports thread_exited");
              WakeResult woken = target.waker->wake();
              check(woken != WakeResult::woken, "a thread that never waits is never woken");
              if (result == InterruptResult::thread_exited) check(target.handle->exited(), "exited() agrees");
            });
          }};
}

Scenario interrupt_publishes_data() {
  return {"interrupt_publishes_data",
          "data stored with relaxed before interrupt() is visible after the wait returns interrupted",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            auto& data = setup.make<Atomic<int>>(0);
            setup.thread("waiter", [&] {
              WaitState state;
              target.publish(state);
              check(state.context().sleep() == WaitResult::interrupted, "sleep returns interrupted");
              check(data.load(std::memory_order_relaxed) == 42,
                    "interrupted happens-after interrupt(), so the data is visible");
            });
            setup.thread("interrupter", [&] {
              data.store(42, std::memory_order_relaxed);
              target.handle->interrupt();
            });
          }};
}

Scenario wake_never_touches_guest() {
  return {"wake_vs_guest", "wake() of a thread that runs guest code does nothing",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            setup.thread("guest", [&] {
              WaitState state;
              target.publish(state);
              if (state.prepare_to_run_guest() == GuestEntry::entered) {
                check(!interrupt_requested(), "wake() never interrupts a guest");
                check(!state.finish_running_guest(), "the guest run finishes uninterrupted");
              }
              check(!state.interrupt_pending(), "wake() never sets the pending bit");
            });
            setup.thread("waker", [&] { target.waker->wake(); });
          }};
}

Scenario interrupt_before_wait() {
  return {"interrupt_then_timed_wait", "an interrupt recorded in host code ends a later timed wait at once",
          [](Setup& setup) {
            auto& target = setup.make<Target>();
            auto& sent = setup.make<Atomic<bool>>(false);
            setup.thread("waiter", [&] {
              WaitState state;
              target.publish(state);
              bool was_sent = sent.load();
              WaitResult result = state.context().with_timeout(5ms).sleep();
              if (was_sent) check(result == WaitResult::interrupted, "a pending interrupt ends the wait");
              state.take_interrupt();
            });
            setup.thread("interrupter", [&] {
              target.handle->interrupt();
              sent.store(true);
            });
          }};
}

Scenario misuse_guest_inside_wait() {
  Scenario scenario{"demo_guest_inside_wait",
                    "EXPECTED FAILURE (contract check): prepare_to_run_guest inside a wait's ready() aborts",
                    [](Setup& setup) {
                      setup.thread("waiter", [] {
                        WaitState state;
                        // The first call of the predicate runs in host state
                        // before the wait starts; the misuse is in the second.
                        state.context().with_timeout(1ms).wait_until([&] {
                          if (model::state_of(state.word()) != model::State::waiting) return false;
                          if (state.prepare_to_run_guest() == GuestEntry::entered) state.finish_running_guest();
                          return true;
                        });
                      });
                    }};
  scenario.expectation = Expectation::fails;
  scenario.expected_failure = "prepare_guest in state waiting";
  return scenario;
}

std::vector<Scenario> make_builtins() {
  // Two-thread scenarios first: they are fast, and `--mutants` tries the
  // scenarios in this order until one catches the mutant.
  std::vector<Scenario> scenarios;
  scenarios.push_back(wait_against_wake());
  scenarios.push_back(wait_against_interrupt());
  scenarios.push_back(timeout_and_interrupt());
  scenarios.push_back(interrupt_during_readiness_check());
  scenarios.push_back(preemptive_guest());
  scenarios.push_back(late_signal());
  scenarios.push_back(double_interrupt_then_take());
  scenarios.push_back(predicate(true));
  scenarios.push_back(predicate(false));
  scenarios.push_back(reason_then_wake(std::memory_order_seq_cst, std::memory_order_seq_cst));
  scenarios.push_back(reason_then_wake(std::memory_order_release, std::memory_order_seq_cst));
  scenarios.push_back(reason_then_interrupt(std::memory_order_seq_cst));
  scenarios.push_back(reason_then_interrupt(std::memory_order_release));
  scenarios.push_back(exited_thread_handle());
  scenarios.push_back(interrupt_publishes_data());
  scenarios.push_back(wake_never_touches_guest());
  scenarios.push_back(interrupt_before_wait());
  scenarios.push_back(misuse_guest_inside_wait());
  scenarios.push_back(two_interrupters());
  scenarios.push_back(waker_against_interrupter());
  return scenarios;
}

}  // namespace

const std::vector<Scenario>& builtin_scenarios() {
  static const std::vector<Scenario> scenarios = make_builtins();
  return scenarios;
}

const Scenario* find_builtin_scenario(std::string_view name) {
  for (const Scenario& scenario : builtin_scenarios()) {
    if (scenario.name == name) return &scenario;
  }
  return nullptr;
}

}  // namespace intr::harness
