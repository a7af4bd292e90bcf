// The Linux platform: futex waits on the state word, CLOCK_MONOTONIC time, and
// a real-time signal that forces a thread out of guest code.
//
// The interrupt signal is chosen at first use: the number the program set
// with set_interrupt_signal(), else the INTR_SIGNAL environment variable, else
// the first real-time signal whose handler is still SIG_DFL. It is installed
// with SA_SIGINFO | SA_ONSTACK | SA_RESTART. Handlers of other signals are
// never touched.
//
// A thread is addressed so that a reused thread id is never signalled: by a
// thread pidfd (pidfd_open with PIDFD_THREAD, Linux 6.9 and later) when the
// kernel has it, otherwise by tgkill() under a guard that the exiting thread
// takes before it detaches.
//
// A guest often sees the interrupt in its state word and returns before the
// signal arrives. A signal that then landed in host code would make the calls
// that signal(7) lists as never restarted (poll, epoll_wait, nanosleep and
// others) fail with EINTR there, so a guest run that ended interrupted waits,
// in guest_left(), until its one signal has been handled.
#pragma once

#include <intr/platform.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <sys/types.h>

namespace intr {

// Thrown when the interrupt signal cannot be configured or installed.
class SignalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LinuxPlatform {
  using Word = std::atomic<std::uint32_t>;
  using Clock = std::chrono::steady_clock;
  using Instant = Clock::time_point;
  using Duration = std::chrono::nanoseconds;

  // The data a handle needs to reach its thread, kept in the shared block.
  struct ThreadRecord {
    pid_t tid = 0;
    int pidfd = -1;
    GuestDelivery delivery = GuestDelivery::signal;
    // Bit 31: the thread has detached. Bits 0-30: interrupters inside
    // tgkill(), which the detaching thread waits out.
    std::atomic<std::uint32_t> guard{0};
    // Signals that interrupt_thread() owed this thread but could not send
    // (the kernel's queue of real-time signals was full).
    std::atomic<std::uint32_t> failed_sends{0};
  };

  static void block(Word& word, std::uint32_t expected);
  static BlockResult block_until(Word& word, std::uint32_t expected, Instant deadline);
  static void wake_one(Word& word);
  static Instant now() { return Clock::now(); }

  static void attach_thread(ThreadRecord& record, Word& word, GuestDelivery delivery);
  static void detach_thread(ThreadRecord& record);
  static void release_thread(ThreadRecord& record);
  static bool interrupt_thread(ThreadRecord& record);
  static void guest_left(ThreadRecord& record, std::uint32_t word_before);
  static bool has_exited(const ThreadRecord& record) {
    // Acquire: pairs with the release in detach_thread().
    return (record.guard.load(std::memory_order_acquire) & exited_bit) != 0;
  }
  static void trace(TracePoint point, const ThreadRecord& record, std::uint32_t value);
  [[noreturn]] static void contract_violation(const char* message);

  static constexpr std::uint32_t exited_bit = 0x80000000u;
};

namespace linux_signal {

// Names the signal that intr uses. Must be called before the first
// WaitState is created; throws SignalError when `signal_number` is not a
// real-time signal, when another handler occupies it, or when intr already
// installed a different one.
void set_interrupt_signal(int signal_number);

// The installed interrupt signal, or 0 before the first WaitState.
int interrupt_signal() noexcept;

// Installs the interrupt signal now if it is not installed yet and returns
// its number. Throws SignalError as set_interrupt_signal() does, or when no
// real-time signal is free.
int ensure_installed();

// Whether this kernel supports thread pidfds, probed once.
bool has_thread_pidfd() noexcept;

// Forces the tgkill() fallback even where thread pidfds exist, for tests.
void disable_thread_pidfd_for_testing() noexcept;

// Counts the interrupt signals that reached the handler on this process,
// accepted (from this process) and ignored (from another sender).
struct HandlerCounts {
  std::uint64_t accepted;
  std::uint64_t ignored;
  std::uint64_t late;
};
HandlerCounts handler_counts() noexcept;

}  // namespace linux_signal

}  // namespace intr
