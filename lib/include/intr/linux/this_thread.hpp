// Per-thread queries on Linux: whether the thread's guest run has been
// interrupted, and whether its guest's system calls may fail with EINTR.
#pragma once

#include <intr/linux/platform.hpp>
#include <intr/model/transitions.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace intr::linux_detail {

// Per-thread data that the signal handler and the guest poll read. Constant-
// initialised, so access needs no TLS wrapper call. The fields that the
// handler and the thread both touch are lock-free atomics, the only objects
// besides volatile sig_atomic_t that C++ lets a handler share with the code
// it interrupts.
struct ThreadLocals {
  // The state word of this thread's WaitState, or a word that always reads
  // `running_in_host` when the thread has none.
  const std::atomic<std::uint32_t>* word;
  LinuxPlatform::ThreadRecord* record;
  // Greater than zero while the guest asked for system calls that the
  // interrupt signal breaks with EINTR.
  std::atomic<int> break_system_calls;
  // Interrupt signals from this process that reached this thread.
  std::atomic<std::uint64_t> signals_received;
  // Guest runs of this thread's WaitState that ended interrupted in signal
  // mode, counted from the value of signals_received at attach. Each owes
  // exactly one signal, which the run's end waits for.
  std::uint64_t signals_owed;
  void* alternate_stack;
  std::size_t alternate_stack_size;
};

extern constinit thread_local ThreadLocals thread_locals;

}  // namespace intr::linux_detail

namespace intr::this_thread {

// True while this thread runs guest code that has been interrupted. One
// relaxed load: the guest polls it, and a stale false only delays the guest
// by one poll because the interrupter's write reaches this core promptly.
inline bool interrupt_requested() noexcept {
  std::uint32_t word = linux_detail::thread_locals.word->load(std::memory_order_relaxed);
  return model::state_of(word) == model::State::interrupted_guest;
}

// The number of interrupt signals from this process that reached this thread.
inline std::uint64_t interrupt_signals_received() noexcept {
  return linux_detail::thread_locals.signals_received.load(std::memory_order_relaxed);
}

// While an instance lives, a blocking system call of this thread that the
// interrupt signal hits fails with EINTR instead of restarting, so a guest
// blocked in read() or similar returns to its caller. Use it inside guest
// code only. Nests.
//
// On x86-64 this covers the blocking calls whose manual pages list EINTR:
// reads and writes, socket calls, poll, select and epoll, sleeps, waits for
// children, futex waits, file locks, and message queues. Other calls (ioctl,
// for example) keep their SA_RESTART behaviour. Elsewhere only the calls that
// never restart fail with EINTR.
//
// NOTE: a signal that lands after the guest's last interrupt_requested() poll
// but before its system call starts is handled before the call blocks, so the
// call still blocks. Poll, enter the call, and keep a timeout on it when that
// window matters.
class InterruptibleSystemCalls {
 public:
  // A relaxed load and store, not a locked read-modify-write: only this
  // thread writes the count, and only its own signal handler reads it.
  InterruptibleSystemCalls() noexcept { add(1); }
  ~InterruptibleSystemCalls() { add(-1); }
  InterruptibleSystemCalls(const InterruptibleSystemCalls&) = delete;
  InterruptibleSystemCalls& operator=(const InterruptibleSystemCalls&) = delete;

 private:
  static void add(int change) noexcept {
    auto& count = linux_detail::thread_locals.break_system_calls;
    count.store(count.load(std::memory_order_relaxed) + change, std::memory_order_relaxed);
  }
};

}  // namespace intr::this_thread
