// Scenarios: what the model checker explores, written as ordinary C++.
//
// A scenario's build function runs once per execution. It creates the
// objects that the threads share with make<T>() and starts up to six logical
// threads with thread(). Each thread body runs on its own fiber; the code
// before a thread's first scheduling point runs during setup, in the order
// the threads were added, and happens-before everything else. Threads share
// data through harness::Atomic or through objects that they only hand over
// during setup (a WaitState's ThreadHandle, for example).
//
//   harness::Scenario scenario{"my_wait", "a waiter and an interrupter",
//       [](harness::Setup& setup) {
//         auto& handle = setup.make<std::optional<harness::Handle>>();
//         setup.thread("waiter", [&handle] {
//           harness::WaitState state;
//           handle.emplace(state.thread_handle());
//           harness::check(state.context().sleep() == intr::WaitResult::interrupted, "sleep ends interrupted");
//         });
//         setup.thread("interrupter", [&handle] { handle->interrupt(); });
//       }};
//
// A WaitState must live on the stack of its logical thread. When an
// execution fails, its threads are abandoned without unwinding, so heap
// memory that only a thread's stack owns is not freed; objects made with
// make<T>() are always destroyed.
#pragma once

#include <intr/harness/model_platform.hpp>
#include <intr/wait_state.hpp>

#include <cstddef>
#include <functional>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace intr::harness {

using WaitState = intr::WaitState<ModelPlatform>;
using Handle = intr::ThreadHandle<ModelPlatform>;
using Waker = intr::Waker<ModelPlatform>;
using Instant = ModelPlatform::Instant;

// Fails the execution with `message` unless `condition` holds. Usable in
// thread bodies and in final checks.
void check(bool condition, std::string_view message);
[[noreturn]] void fail(std::string_view message);

// A cooperative guest's poll: whether the calling thread's state word says
// interrupted_guest (one relaxed load, as intr::this_thread does on Linux).
bool interrupt_requested();

// Guest code that never polls: the calling thread stays busy until a
// platform interrupt finds it in interrupted_guest, as a preemptive guest
// does until the signal handler returns it to the host. A thread that is
// never interrupted deadlocks here.
void run_guest_until_interrupted();

// Platform interrupts that reached the calling logical thread: accepted ones
// found the thread in interrupted_guest, late ones found any other state and
// did nothing.
struct SignalCounts {
  std::uint32_t accepted = 0;
  std::uint32_t late = 0;
};
SignalCounts signals_received();

namespace runtime {
class Engine;
}

class Setup {
 public:
  // Constructs a T that lives until the end of the execution.
  template <class T, class... Args>
  T& make(Args&&... args) {
    void* memory = allocate(sizeof(T), alignof(T));
    T* object = new (memory) T(std::forward<Args>(args)...);
    if constexpr (!std::is_trivially_destructible_v<T>) {
      on_destroy(object, [](void* pointer) { static_cast<T*>(pointer)->~T(); });
    }
    return *object;
  }

  // Starts a logical thread named `name` that runs body().
  template <class F>
  void thread(std::string_view name, F&& body) {
    using Body = std::decay_t<F>;
    Body& stored = make<Body>(std::forward<F>(body));
    add_thread(name, [](void* pointer) { (*static_cast<Body*>(pointer))(); }, &stored);
  }

  // Runs check() after every thread has finished, outside any thread. It
  // sees the last value of every atomic.
  template <class F>
  void finally(F&& check) {
    using Check = std::decay_t<F>;
    Check& stored = make<Check>(std::forward<F>(check));
    add_final([](void* pointer) { (*static_cast<Check*>(pointer))(); }, &stored);
  }

 private:
  friend class runtime::Engine;
  explicit Setup(runtime::Engine& engine) : engine_(&engine) {}

  void* allocate(std::size_t size, std::size_t alignment);
  void on_destroy(void* object, void (*destroy)(void*));
  void add_thread(std::string_view name, void (*run)(void*), void* body);
  void add_final(void (*run)(void*), void* body);

  runtime::Engine* engine_;
};

// What a scenario claims. A scenario that `fails` demonstrates a use of intr
// that the documentation forbids; the checker must find its failure, and
// finding it is not a failure of intr.
enum class Expectation : std::uint8_t { holds, fails };

struct Scenario {
  Scenario() = default;
  Scenario(std::string scenario_name, std::string scenario_description, std::function<void(Setup&)> build_function,
           Expectation claim = Expectation::holds, std::string failure_part = {})
      : name(std::move(scenario_name)),
        description(std::move(scenario_description)),
        build(std::move(build_function)),
        expectation(claim),
        expected_failure(std::move(failure_part)) {}

  std::string name;         // [A-Za-z0-9_./-], used in schedule strings
  std::string description;  // one sentence: what runs against what
  std::function<void(Setup&)> build;
  Expectation expectation = Expectation::holds;
  // For Expectation::fails: a part of the failure message that the
  // expected failure contains; empty accepts any failure.
  std::string expected_failure;
};

}  // namespace intr::harness
