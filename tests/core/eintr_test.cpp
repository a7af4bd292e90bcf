// The EINTR rewrite of the interrupt signal's handler, which x86-64 alone
// has: a guest's blocking call fails with EINTR inside
// InterruptibleSystemCalls, whether the signal lands while the call blocks
// or on its `syscall` instruction before it starts.
//
// These tests are not labelled `concurrency`: ThreadSanitizer defers an
// asynchronous signal until the thread next enters a call that it
// intercepts, so a guest blocked in read() never runs the handler under
// TSan and the tests would hang there.
//
// intr_test_tgkill_then_syscall() (assembly below) calls tgkill(SIGUSR2) on its own
// thread and executes a second `syscall` right after it. SIGUSR2 arrives on
// the return from tgkill. Its handler interrupts the thread, which is in
// guest code; SIGUSR2's mask blocks the interrupt signal, so it stays
// pending. The handler then loads the second call's number and arguments
// into the saved registers. When it returns, the kernel restores the mask
// and delivers the pending interrupt signal with RIP on the second `syscall`
// instruction, exactly as if it had landed there by chance. The second call
// then runs, or is skipped with -EINTR, by the interrupt handler's choice.
#include "test_support.hpp"
#include "thread_helpers.hpp"

#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <cstring>
#include <linux/futex.h>
#include <stdexcept>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

extern "C" long intr_test_tgkill_then_syscall(long pid, long tid, long signal_number);

// tgkill(pid, tid, signal_number), then a second `syscall` whose number and
// arguments the SIGUSR2 handler sets. Returns the second call's result.
asm(R"(
    .text
    .globl intr_test_tgkill_then_syscall
    .type intr_test_tgkill_then_syscall, @function
intr_test_tgkill_then_syscall:
    mov $234, %eax
    syscall
    syscall
    ret
    .size intr_test_tgkill_then_syscall, .-intr_test_tgkill_then_syscall
    .section .note.GNU-stack,"",@progbits
    .text
)");
static_assert(SYS_tgkill == 234, "the assembly above hard-codes tgkill's number");

namespace {

using namespace std::chrono_literals;

// A pipe whose ends close with it.
struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    close(read_end);
    close(write_end);
  }
};

// The second call, and the handle that SIGUSR2's handler interrupts.
struct SecondCall {
  long number;
  long arguments[3];
};
SecondCall second_call{};
const intr::ThreadHandle<>* handle_to_interrupt = nullptr;

extern "C" void on_sigusr2(int, siginfo_t*, void* context) {
  handle_to_interrupt->interrupt();
  greg_t* registers = static_cast<ucontext_t*>(context)->uc_mcontext.gregs;
  registers[REG_RAX] = second_call.number;
  registers[REG_RDI] = second_call.arguments[0];
  registers[REG_RSI] = second_call.arguments[1];
  registers[REG_RDX] = second_call.arguments[2];
}

struct Outcome {
  long result;
  std::uint64_t accepted;  // interrupt signals that the handler accepted meanwhile
  bool interrupted;        // finish_running_guest() saw the interrupt
};

// Runs `call` inside a guest, in an InterruptibleSystemCalls scope unless
// `breakable` is false, while the interrupt signal lands on its `syscall`
// instruction.
Outcome run_with_signal_on_syscall(SecondCall call, bool breakable = true) {
  intr::WaitState<> state;
  auto handle = state.thread_handle();
  handle_to_interrupt = &handle;
  second_call = call;

  struct sigaction action {};
  struct sigaction previous {};
  action.sa_sigaction = on_sigusr2;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, intr::linux_signal::interrupt_signal());
  sigaction(SIGUSR2, &action, &previous);

  Outcome outcome{};
  std::uint64_t accepted_before = intr::linux_signal::handler_counts().accepted;
  if (state.prepare_to_run_guest() == intr::GuestEntry::entered) {
    if (breakable) {
      intr::this_thread::InterruptibleSystemCalls scope;
      outcome.result = intr_test_tgkill_then_syscall(getpid(), gettid(), SIGUSR2);
    } else {
      outcome.result = intr_test_tgkill_then_syscall(getpid(), gettid(), SIGUSR2);
    }
  }
  outcome.interrupted = state.finish_running_guest();
  outcome.accepted = intr::linux_signal::handler_counts().accepted - accepted_before;

  sigaction(SIGUSR2, &previous, nullptr);
  handle_to_interrupt = nullptr;
  return outcome;
}

}  // namespace

// A call that never fails with EINTR runs even when the signal lands on its
// instruction. Skipping it used to return -EINTR from getpid().
TEST_CASE("signal on getpid lets it run", "[eintr]") {
  Outcome outcome = run_with_signal_on_syscall({SYS_getpid, {0, 0, 0}});
  CHECK(outcome.accepted == 1);
  CHECK(outcome.interrupted);
  CHECK(outcome.result == getpid());
}

// A futex wake must never be skipped, or the thread it was meant for sleeps
// on. The wake here finds no waiter and returns 0.
TEST_CASE("signal on futex wake lets it run", "[eintr]") {
  static std::uint32_t word = 0;
  Outcome outcome = run_with_signal_on_syscall(
      {SYS_futex, {reinterpret_cast<long>(&word), FUTEX_WAKE_PRIVATE, 1}});
  CHECK(outcome.accepted == 1);
  CHECK(outcome.result == 0);
}

// A read that has not started yet is skipped with -EINTR, so a guest about
// to block does not block. The byte in the pipe shows that it did not run.
TEST_CASE("signal on read skips it with EINTR", "[eintr]") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  REQUIRE(write(fds[1], "x", 1) == 1);
  static char byte = 0;
  Outcome outcome = run_with_signal_on_syscall({SYS_read, {fds[0], reinterpret_cast<long>(&byte), 1}});
  CHECK(outcome.accepted == 1);
  CHECK(outcome.result == -EINTR);
  CHECK(read(fds[0], &byte, 1) == 1);
  close(fds[0]);
  close(fds[1]);
}

// Outside InterruptibleSystemCalls the same read runs normally.
TEST_CASE("signal on read outside the scope lets it run", "[eintr]") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  REQUIRE(write(fds[1], "x", 1) == 1);
  static char byte = 0;
  Outcome outcome = run_with_signal_on_syscall({SYS_read, {fds[0], reinterpret_cast<long>(&byte), 1}}, false);
  CHECK(outcome.accepted == 1);
  CHECK(outcome.result == 1);
  CHECK(byte == 'x');
  close(fds[0]);
  close(fds[1]);
}

// A guest blocked in read() on an empty pipe inside InterruptibleSystemCalls
// returns -1 with EINTR after interrupt(). Outside that scope the read
// restarts, as SA_RESTART promises, and completes when data arrives.
TEST_CASE("interrupt breaks a guest's blocking read", "[threads]") {
  Pipe pipe;
  bool interruptible = GENERATE(true, false);
  INFO((interruptible ? "inside" : "outside") << " InterruptibleSystemCalls");
  ssize_t count = 0;
  int error = 0;
  bool entered = false;
  auto counts_before = intr::linux_signal::handler_counts();
  // Declared first, so that it still runs while a failed check unwinds
  // into the join of a guest that is stuck in read().
  intr_test::Watchdog watchdog(20s, "the guest's read()");
  intr_test::OwningThread guest([&](intr::WaitState<>& state) {
    entered = state.prepare_to_run_guest() == intr::GuestEntry::entered;
    char byte = 0;
    if (interruptible) {
      intr::this_thread::InterruptibleSystemCalls breakable;
      count = read(pipe.read_end, &byte, 1);
    } else {
      count = read(pipe.read_end, &byte, 1);
    }
    error = errno;
    state.finish_running_guest();
  });
  CHECK(intr_test::eventually_sleeping(guest.tid()));
  CHECK(guest.handle().interrupt() == intr::InterruptResult::interrupted_guest);
  if (!interruptible) {
    // Once the handler has run, the read restarts and blocks again.
    CHECK(intr_test::eventually([&] {
      auto counts = intr::linux_signal::handler_counts();
      return counts.accepted + counts.late > counts_before.accepted + counts_before.late;
    }));
    CHECK(intr_test::eventually_sleeping(guest.tid()));
    CHECK(write(pipe.write_end, "x", 1) == 1);
  }
  guest.join();
  CHECK(entered);
  if (interruptible) {
    CHECK(count == -1);
    CHECK(error == EINTR);
  } else {
    CHECK(count == 1);
  }
}
