// The interrupt signal: choosing it, installing it, and its handler.
#include "signal.hpp"

#include "probes.hpp"

#include <intr/linux/this_thread.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/futex.h>
#include <mutex>
#include <pthread.h>
#include <string>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

namespace intr {
namespace linux_detail {

constinit thread_local ThreadLocals thread_locals{&host_word, nullptr, 0, 0, 0, nullptr, 0};
constinit const std::atomic<std::uint32_t> host_word{0};

namespace {

std::mutex install_mutex;
int requested_signal = 0;                     // guarded by install_mutex
std::atomic<int> installed_signal{0};
std::atomic<pid_t> process_id{0};
std::atomic<std::uint64_t> accepted_count{0};
std::atomic<std::uint64_t> ignored_count{0};
std::atomic<std::uint64_t> late_count{0};

static_assert(std::atomic<pid_t>::is_always_lock_free && std::atomic<std::uint64_t>::is_always_lock_free,
              "the signal handler may only touch lock-free atomics");

void update_process_id_after_fork() { process_id.store(getpid(), std::memory_order_relaxed); }

std::string range_text() {
  return "choose a number from SIGRTMIN (" + std::to_string(SIGRTMIN) + ") to SIGRTMAX (" +
         std::to_string(SIGRTMAX) + ")";
}

bool handler_is_default(int signal_number) {
  struct sigaction current {};
  if (sigaction(signal_number, nullptr, &current) != 0) return false;
  if (current.sa_flags & SA_SIGINFO) return false;
  return current.sa_handler == SIG_DFL;
}

void check_usable(int signal_number, const char* source) {
  if (signal_number < SIGRTMIN || signal_number > SIGRTMAX) {
    throw SignalError("intr: interrupt signal " + std::to_string(signal_number) + " (" + source +
                      ") is not a real-time signal; " + range_text());
  }
  if (!handler_is_default(signal_number)) {
    throw SignalError("intr: interrupt signal " + std::to_string(signal_number) + " (" + source +
                      ") already has a handler; choose a real-time signal that the program leaves at SIG_DFL");
  }
}

int parse_environment(const char* text) {
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0 || value > 1024) {
    throw SignalError(std::string("intr: INTR_SIGNAL=\"") + text + "\" is not a signal number; " + range_text());
  }
  return static_cast<int>(value);
}

// Picks the signal: the one set by the program, else INTR_SIGNAL, else the
// first real-time signal whose handler is SIG_DFL.
int choose_signal() {
  if (requested_signal != 0) {
    check_usable(requested_signal, "set by set_interrupt_signal");
    return requested_signal;
  }
  if (const char* text = std::getenv("INTR_SIGNAL"); text != nullptr && *text != '\0') {
    int number = parse_environment(text);
    check_usable(number, "from INTR_SIGNAL");
    return number;
  }
  for (int number = SIGRTMIN; number <= SIGRTMAX; ++number) {
    if (handler_is_default(number)) return number;
  }
  throw SignalError("intr: no real-time signal is free: every signal from SIGRTMIN to SIGRTMAX has a handler; "
                    "free one and name it with INTR_SIGNAL or intr::linux_signal::set_interrupt_signal()");
}

#if defined(__x86_64__)
// Whether a guest may see system call `number` fail with EINTR without
// having run: the call can block, and its manual page lists EINTR, so its
// callers already handle that error. Every other call runs normally even when
// the signal lands on its `syscall` instruction. Skipping it would break
// callers that never expect EINTR: getpid() would return -4, a futex wake
// from pthread_mutex_unlock() would be lost, and a skipped rt_sigreturn (the
// return path of any other signal handler) would crash the thread. The
// function is a switch on numbers and registers, so it is async-signal-safe.
bool fails_with_eintr(greg_t number, const greg_t* registers) {
  switch (number) {
    case SYS_futex: {
      // Only the waiting operations; a wake must never be skipped.
      auto operation = registers[REG_RSI] & FUTEX_CMD_MASK;
      return operation == FUTEX_WAIT || operation == FUTEX_WAIT_BITSET || operation == FUTEX_WAIT_REQUEUE_PI;
    }
    case SYS_fcntl:
      return registers[REG_RSI] == F_SETLKW || registers[REG_RSI] == F_OFD_SETLKW;
    case SYS_read: case SYS_readv: case SYS_pread64: case SYS_preadv: case SYS_preadv2:
    case SYS_write: case SYS_writev: case SYS_pwrite64: case SYS_pwritev: case SYS_pwritev2:
    case SYS_open: case SYS_openat: case SYS_openat2:
    case SYS_sendfile: case SYS_splice: case SYS_tee: case SYS_vmsplice:
    case SYS_accept: case SYS_accept4: case SYS_connect:
    case SYS_recvfrom: case SYS_recvmsg: case SYS_recvmmsg:
    case SYS_sendto: case SYS_sendmsg: case SYS_sendmmsg:
    case SYS_poll: case SYS_ppoll: case SYS_select: case SYS_pselect6:
    case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_epoll_pwait2:
    case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_pause:
    case SYS_rt_sigsuspend: case SYS_rt_sigtimedwait:
    case SYS_wait4: case SYS_waitid: case SYS_flock:
    case SYS_msgrcv: case SYS_msgsnd: case SYS_semop: case SYS_semtimedop:
    case SYS_mq_timedsend: case SYS_mq_timedreceive:
    case SYS_io_getevents: case SYS_io_pgetevents:
      return true;
    default:
      return false;
  }
}

// Makes an interrupted or about-to-restart `syscall` instruction return
// -EINTR. When the kernel restarts a system call for an SA_RESTART handler it
// rewinds RIP to the `syscall` instruction and restores RAX to the call
// number before the handler runs; a call that has not started yet looks the
// same. Either way the call has had no effect, so skipping it with EINTR is
// what a non-restarting handler would have produced, for the calls that
// fails_with_eintr() accepts.
void break_system_call(void* context) {
  auto* user_context = static_cast<ucontext_t*>(context);
  greg_t* registers = user_context->uc_mcontext.gregs;
  const auto* instruction = reinterpret_cast<const unsigned char*>(registers[REG_RIP]);
  if (instruction[0] == 0x0f && instruction[1] == 0x05 && fails_with_eintr(registers[REG_RAX], registers)) {
    registers[REG_RAX] = -EINTR;
    registers[REG_RIP] += 2;
  }
}
#else
// NOTE: only x86-64 rewrites restarted system calls; elsewhere a guest's
// restartable call restarts and only non-restartable ones fail with EINTR.
void break_system_call(void*) {}
#endif

// Async-signal-safe only: it reads thread-locals and lock-free atomics,
// calls no function that locks or allocates, and restores errno.
extern "C" void on_interrupt_signal(int signal_number, siginfo_t* info, void* context) {
  int saved_errno = errno;
  bool from_this_process = info != nullptr && info->si_pid == process_id.load(std::memory_order_relaxed) &&
                           (info->si_code == SI_TKILL || info->si_code == SI_USER);
  if (!from_this_process) {
    ignored_count.fetch_add(1, std::memory_order_relaxed);
    errno = saved_errno;
    return;
  }
  ThreadLocals& locals = thread_locals;
  // Only this thread's handler writes the count, and the signal is blocked
  // while its handler runs, so a relaxed load and store cannot lose a count.
  locals.signals_received.store(locals.signals_received.load(std::memory_order_relaxed) + 1,
                                std::memory_order_relaxed);
  // Acquire: pairs with the interrupter's seq_cst write of interrupted_guest.
  std::uint32_t word = locals.word->load(std::memory_order_acquire);
  INTR_PROBE2(handler_entered, signal_number, word);
  model::Transition transition = model::transition(model::state_of(word), model::Event::platform_interrupt_delivered);
  if (transition.action != model::Action::return_to_host) {
    // A late signal: the guest run it was meant for has already ended.
    late_count.fetch_add(1, std::memory_order_relaxed);
    errno = saved_errno;
    return;
  }
  accepted_count.fetch_add(1, std::memory_order_relaxed);
  if (locals.break_system_calls.load(std::memory_order_relaxed) > 0) break_system_call(context);
  errno = saved_errno;
}

void install(int signal_number) {
  struct sigaction action {};
  action.sa_sigaction = on_interrupt_signal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(signal_number, &action, nullptr) != 0) {
    throw SignalError("intr: sigaction(" + std::to_string(signal_number) + ") failed: " + std::strerror(errno));
  }
}

}  // namespace

int install_once() {
  if (int number = installed_signal.load(std::memory_order_acquire)) return number;
  std::lock_guard lock(install_mutex);
  if (int number = installed_signal.load(std::memory_order_relaxed)) return number;
  int number = choose_signal();
  process_id.store(getpid(), std::memory_order_relaxed);
  static const int registered = pthread_atfork(nullptr, nullptr, update_process_id_after_fork);
  (void)registered;
  install(number);
  // Release: a thread that reads the number also sees the installed handler.
  installed_signal.store(number, std::memory_order_release);
  return number;
}

int current_signal() noexcept { return installed_signal.load(std::memory_order_acquire); }

}  // namespace linux_detail

namespace linux_signal {

void set_interrupt_signal(int signal_number) {
  std::lock_guard lock(linux_detail::install_mutex);
  int installed = linux_detail::installed_signal.load(std::memory_order_relaxed);
  if (installed != 0) {
    if (installed == signal_number) return;
    throw SignalError("intr: cannot use signal " + std::to_string(signal_number) + ": signal " +
                      std::to_string(installed) +
                      " is already installed; call set_interrupt_signal() before the first WaitState");
  }
  linux_detail::check_usable(signal_number, "set by set_interrupt_signal");
  linux_detail::requested_signal = signal_number;
}

int interrupt_signal() noexcept { return linux_detail::current_signal(); }

int ensure_installed() { return linux_detail::install_once(); }

HandlerCounts handler_counts() noexcept {
  return {linux_detail::accepted_count.load(std::memory_order_relaxed),
          linux_detail::ignored_count.load(std::memory_order_relaxed),
          linux_detail::late_count.load(std::memory_order_relaxed)};
}

}  // namespace linux_signal
}  // namespace intr
