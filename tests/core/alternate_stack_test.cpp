// The alternate signal stack of the Linux platform: a WaitState with signal
// delivery gives its thread one when the thread has none, removes only its
// own, and leaves a stack that the program installed alone. Each case runs
// on a new thread, so that it starts without a stack of its own (a sanitizer
// runtime may still have installed one, which the checks allow for).
#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <sys/mman.h>
#include <thread>
#include <vector>

namespace {

stack_t current_stack() {
  stack_t stack{};
  sigaltstack(nullptr, &stack);
  return stack;
}

bool enabled(const stack_t& stack) { return (stack.ss_flags & SS_DISABLE) == 0; }

// A stack that the program itself installs on the calling thread.
struct ProgramStack {
  std::vector<char> memory = std::vector<char>(128 * 1024);

  void install() {
    stack_t stack{};
    stack.ss_sp = memory.data();
    stack.ss_size = memory.size();
    sigaltstack(&stack, nullptr);
  }
  static void uninstall() {
    stack_t disable{};
    disable.ss_flags = SS_DISABLE;
    sigaltstack(&disable, nullptr);
  }
};

template <class Body>
void on_new_thread(Body body) {
  std::thread(body).join();
}

}  // namespace

// With signal delivery the thread has an alternate stack while the
// WaitState lives, and afterwards the stack it had before.
TEST_CASE("WaitState provides an alternate stack", "[alternate-stack]") {
  stack_t before{};
  stack_t during{};
  stack_t after{};
  on_new_thread([&] {
    before = current_stack();
    {
      intr::WaitState<> state(intr::GuestDelivery::signal);
      during = current_stack();
    }
    after = current_stack();
  });
  CHECK(enabled(during));
  if (enabled(before)) {
    CHECK(during.ss_sp == before.ss_sp);
  } else {
    CHECK(during.ss_size >= 64 * 1024);
  }
  CHECK(enabled(after) == enabled(before));
  CHECK(after.ss_sp == before.ss_sp);
}

// Polling delivery sends no signals and needs no stack.
TEST_CASE("polling WaitState leaves the stack alone", "[alternate-stack]") {
  stack_t before{};
  stack_t during{};
  on_new_thread([&] {
    before = current_stack();
    intr::WaitState<> state(intr::GuestDelivery::polling);
    during = current_stack();
  });
  CHECK(enabled(during) == enabled(before));
  CHECK(during.ss_sp == before.ss_sp);
}

// A stack that the program installed first is used as it is and survives
// the WaitState.
TEST_CASE("program stack installed before is kept", "[alternate-stack]") {
  ProgramStack program;
  stack_t during{};
  stack_t after{};
  on_new_thread([&] {
    program.install();
    {
      intr::WaitState<> state(intr::GuestDelivery::signal);
      during = current_stack();
    }
    after = current_stack();
    ProgramStack::uninstall();
  });
  CHECK(during.ss_sp == program.memory.data());
  CHECK(enabled(after));
  CHECK(after.ss_sp == program.memory.data());
}

// A stack that the program installs while the WaitState lives replaces
// intr's, and the WaitState's destruction leaves it installed.
TEST_CASE("program stack installed later is kept", "[alternate-stack]") {
  ProgramStack program;
  stack_t after{};
  on_new_thread([&] {
    {
      intr::WaitState<> state(intr::GuestDelivery::signal);
      program.install();
    }
    after = current_stack();
    ProgramStack::uninstall();
  });
  CHECK(enabled(after));
  CHECK(after.ss_sp == program.memory.data());
}
