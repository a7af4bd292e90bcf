// Thread records: attaching a thread to its WaitState, addressing it safely
// from other threads, and the probes and contract checks of the platform.
#include "probes.hpp"
#include "signal.hpp"

#include <intr/intr.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL  // from <linux/pidfd.h> of Linux 6.9
#endif

namespace intr {
namespace {

using linux_detail::thread_locals;

void pause_briefly() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Sends the interrupt signal through `send` and returns false only when the
// thread is gone. A failed send to a live thread (a full queue of real-time
// signals) is counted, so that the thread does not wait for it in
// guest_left().
template <class Send>
bool send_counted(LinuxPlatform::ThreadRecord& record, Send send) {
  if (send() == 0) return true;
  if (errno == ESRCH) return false;
  // Release: guest_left() reads the count with acquire.
  record.failed_sends.fetch_add(1, std::memory_order_release);
  return true;
}

std::atomic<int> pidfd_support{-1};  // -1 unknown, 0 no, 1 yes
std::atomic<bool> pidfd_disabled{false};

int open_thread_pidfd(pid_t tid) {
  return static_cast<int>(syscall(SYS_pidfd_open, tid, PIDFD_THREAD));
}

void futex_wake_all(std::atomic<std::uint32_t>& word) {
  syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

// Gives the thread an alternate signal stack unless it already has one, so
// that the handler runs even when the guest has exhausted its own stack.
void ensure_alternate_stack() {
  stack_t current{};
  if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
  long minimum = sysconf(_SC_MINSIGSTKSZ);
  std::size_t size = std::max<std::size_t>(minimum > 0 ? static_cast<std::size_t>(minimum) * 4 : 0, 64 * 1024);
  void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (memory == MAP_FAILED) {
    throw SignalError("intr: cannot map an alternate signal stack of " + std::to_string(size) +
                      " bytes: " + std::strerror(errno));
  }
  stack_t stack{};
  stack.ss_sp = memory;
  stack.ss_size = size;
  if (sigaltstack(&stack, nullptr) != 0) {
    int error = errno;
    munmap(memory, size);
    throw SignalError(std::string("intr: sigaltstack failed: ") + std::strerror(error));
  }
  thread_locals.alternate_stack = memory;
  thread_locals.alternate_stack_size = size;
}

// Unmaps the alternate stack that ensure_alternate_stack() mapped, and
// disables it unless the program has installed another one since, which
// then stays in place.
void remove_alternate_stack() {
  if (thread_locals.alternate_stack == nullptr) return;
  stack_t current{};
  if (sigaltstack(nullptr, &current) == 0 && current.ss_sp == thread_locals.alternate_stack) {
    stack_t disable{};
    disable.ss_flags = SS_DISABLE;
    sigaltstack(&disable, nullptr);
  }
  munmap(thread_locals.alternate_stack, thread_locals.alternate_stack_size);
  thread_locals.alternate_stack = nullptr;
  thread_locals.alternate_stack_size = 0;
}

void unblock_signal(int signal_number) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signal_number);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace

namespace linux_signal {

bool has_thread_pidfd() noexcept {
  if (pidfd_disabled.load(std::memory_order_relaxed)) return false;
  int known = pidfd_support.load(std::memory_order_relaxed);
  if (known >= 0) return known == 1;
  int fd = open_thread_pidfd(static_cast<pid_t>(gettid()));
  bool supported = fd >= 0;
  if (supported) close(fd);
  pidfd_support.store(supported ? 1 : 0, std::memory_order_relaxed);
  return supported;
}

void disable_thread_pidfd_for_testing() noexcept { pidfd_disabled.store(true, std::memory_order_relaxed); }

}  // namespace linux_signal

void LinuxPlatform::attach_thread(ThreadRecord& record, Word& word, GuestDelivery delivery) {
  if (thread_locals.record != nullptr) {
    char message[160];
    std::snprintf(message, sizeof message,
                  "intr: contract violation: a second WaitState on thread %d; a thread owns at most one",
                  static_cast<int>(gettid()));
    contract_violation(message);
  }
  record.tid = static_cast<pid_t>(gettid());
  record.delivery = delivery;
  if (delivery == GuestDelivery::signal) {
    int signal_number = linux_detail::install_once();
    ensure_alternate_stack();
    unblock_signal(signal_number);
    if (linux_signal::has_thread_pidfd()) record.pidfd = open_thread_pidfd(record.tid);
  }
  // Signals received under an earlier WaitState of this thread settle no
  // debt of this one.
  thread_locals.signals_owed = thread_locals.signals_received.load(std::memory_order_relaxed);
  thread_locals.word = &word;
  thread_locals.record = &record;
}

void LinuxPlatform::guest_left(ThreadRecord& record, std::uint32_t word_before) {
  if (record.delivery != GuestDelivery::signal) return;
  if (model::state_of(word_before) != model::State::interrupted_guest) return;
  // The interrupter that moved this run to interrupted_guest sends exactly
  // one signal, maybe not yet. Until the handler has counted it (or the
  // interrupter has counted a failed send), host code must not run: the
  // signal would break its poll() or nanosleep() with EINTR. The wait is
  // usually a few microseconds: the guest saw the state word change just
  // before the signal arrived.
  std::uint64_t owed = ++thread_locals.signals_owed;
  for (unsigned round = 0;; ++round) {
    // Acquire: pairs with the interrupter's release increment of failed_sends.
    std::uint64_t settled = thread_locals.signals_received.load(std::memory_order_relaxed) +
                            record.failed_sends.load(std::memory_order_acquire);
    if (settled >= owed) return;
    if (round < 1000) {
      pause_briefly();
    } else if (round < 2000) {
      sched_yield();
    } else if (round < 12000) {
      // The interrupter was preempted between its state change and its
      // send; sleep in steps of 100 us. EINTR here is the signal itself.
      timespec step{0, 100'000};
      nanosleep(&step, nullptr);
    } else {
      // NOTE: after about a second the signal is taken as lost, for example
      // because guest code blocked it with pthread_sigmask. A late arrival
      // can then still break a host call with EINTR.
      thread_locals.signals_owed = settled;
      return;
    }
  }
}

void LinuxPlatform::detach_thread(ThreadRecord& record) {
  if (thread_locals.record != &record) {
    char message[200];
    std::snprintf(message, sizeof message,
                  "intr: contract violation: a WaitState created on thread %d was destroyed on thread %d; "
                  "destroy it on the thread that created it",
                  static_cast<int>(record.tid), static_cast<int>(gettid()));
    contract_violation(message);
  }
  thread_locals.word = &linux_detail::host_word;
  thread_locals.record = nullptr;
  // Acq_rel: the release half publishes the exit to has_exited(); the
  // acquire half orders the count read below after the senders' increments.
  std::uint32_t guard = record.guard.fetch_or(exited_bit, std::memory_order_acq_rel);
  // Senders that incremented the guard before the exited bit was set may
  // still be inside tgkill(). The thread must not exit until they are done,
  // because its id could otherwise be reused under them.
  while ((guard & ~exited_bit) != 0) {
    syscall(SYS_futex, &record.guard, FUTEX_WAIT_PRIVATE, guard | exited_bit, nullptr, nullptr, 0);
    guard = record.guard.load(std::memory_order_acquire);
  }
  remove_alternate_stack();
}

void LinuxPlatform::release_thread(ThreadRecord& record) {
  if (record.pidfd >= 0) {
    close(record.pidfd);
    record.pidfd = -1;
  }
}

// Returns false only when the thread is gone (ESRCH). Any other failure, such
// as EAGAIN when the queue of real-time signals is full, leaves a live
// thread whose state word already shows the interrupt to its next poll.
bool LinuxPlatform::interrupt_thread(ThreadRecord& record) {
  if (record.delivery == GuestDelivery::polling) return !has_exited(record);
  int signal_number = linux_detail::current_signal();
  if (record.pidfd >= 0) {
    // A thread pidfd names exactly this thread for as long as the fd is
    // open, so no guard is needed: a dead thread makes the call fail.
    INTR_PROBE2(signal_sent, record.tid, signal_number);
    return send_counted(record, [&] { return syscall(SYS_pidfd_send_signal, record.pidfd, signal_number, nullptr, 0); });
  }
  // Acquire: if the exited bit is clear here, the detaching thread will see
  // this increment and wait for the matching decrement.
  std::uint32_t guard = record.guard.fetch_add(1, std::memory_order_acquire);
  bool alive = (guard & exited_bit) == 0;
  if (alive) {
    INTR_PROBE2(signal_sent, record.tid, signal_number);
    alive = send_counted(record, [&] { return syscall(SYS_tgkill, getpid(), record.tid, signal_number); });
  }
  // Release: the detaching thread's acquire load sees tgkill() as finished.
  std::uint32_t after = record.guard.fetch_sub(1, std::memory_order_release) - 1;
  if (after == exited_bit) futex_wake_all(record.guard);
  return alive;
}

void LinuxPlatform::trace(TracePoint point, const ThreadRecord& record, std::uint32_t value) {
  switch (point) {
    case TracePoint::interrupt_requested: INTR_PROBE1(interrupt_requested, record.tid); break;
    case TracePoint::wait_woken: INTR_PROBE2(wait_woken, record.tid, value); break;
    case TracePoint::wait_started: INTR_PROBE1(wait_started, record.tid); break;
    case TracePoint::wait_ended: INTR_PROBE1(wait_ended, value); break;
    case TracePoint::guest_returned: INTR_PROBE1(guest_returned, value); break;
  }
}

void LinuxPlatform::contract_violation(const char* message) {
  std::fprintf(stderr, "%s\n", message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace intr
