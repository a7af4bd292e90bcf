// Interrupt signals never leak into host code. A host thread does blocking
// reads on a pipe and timed waits while another thread interrupts it at
// about 10 kHz. Its reads never fail with EINTR, and its timed waits end
// close to their deadlines. In a second variant the host thread also runs
// short guest runs, so real signals are sent and some arrive late, after
// the guest has returned to host code.
#include "test_support.hpp"
#include "thread_helpers.hpp"

#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <poll.h>
#include <random>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct HostCounts {
  long reads = 0;
  long read_eintr = 0;
  long read_failures = 0;
  long polls = 0;
  long poll_eintr = 0;
  long sleeps = 0;
  long sleep_eintr = 0;
  long timed_waits = 0;
  long interrupted_waits = 0;
  long guest_runs = 0;
  Clock::duration max_lateness{};
  std::uint64_t signals_received = 0;
};

// Writes one byte to the pipe each time the reader asks for one, after a
// short pause, so that the reader is blocked in read() when it arrives.
class Feeder {
 public:
  explicit Feeder(int write_end) : write_end_(write_end) {
    thread_ = std::thread([this] {
      for (;;) {
        requested_.wait(false);
        if (stop_.load()) return;
        requested_.store(false);
        std::this_thread::sleep_for(100us);
        while (write(write_end_, "x", 1) != 1) {
          if (errno != EINTR) return;
          ++write_eintr_;
        }
      }
    });
  }
  ~Feeder() {
    stop_.store(true);
    request();
    thread_.join();
  }
  void request() {
    requested_.store(true);
    requested_.notify_one();
  }
  long write_eintr() const { return write_eintr_; }

 private:
  int write_end_;
  std::atomic<bool> requested_{false};
  std::atomic<bool> stop_{false};
  long write_eintr_ = 0;
  std::thread thread_;
};

// Runs a guest until it is interrupted or `limit` passes.
void run_short_guest(intr::WaitState<>& state, Clock::duration limit) {
  if (state.prepare_to_run_guest() != intr::GuestEntry::entered) return;
  auto end = Clock::now() + limit;
  while (!intr::this_thread::interrupt_requested() && Clock::now() < end) {
  }
  state.finish_running_guest();
}

// Calls poll() and nanosleep(), which are never restarted after a signal
// handler, so a signal that reached host code would show as EINTR.
void call_unrestartable(int read_end, HostCounts& counts) {
  pollfd nothing_to_read{read_end, POLLIN, 0};
  if (poll(&nothing_to_read, 1, 1) < 0 && errno == EINTR) ++counts.poll_eintr;
  ++counts.polls;
  timespec short_sleep{0, 50'000};
  if (nanosleep(&short_sleep, nullptr) != 0 && errno == EINTR) ++counts.sleep_eintr;
  ++counts.sleeps;
}

// The host loop: a blocking read, a timed wait that continues through
// interrupts until its deadline, and optionally a short guest run.
void host_loop(intr::WaitState<>& state, int read_end, Feeder& feeder, bool with_guest,
               const std::atomic<bool>& stop, HostCounts& counts) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> wait_micros(0, 2000);
  while (!stop.load()) {
    feeder.request();
    char byte = 0;
    ssize_t count = read(read_end, &byte, 1);
    ++counts.reads;
    if (count < 0 && errno == EINTR) ++counts.read_eintr;
    if (count != 1) ++counts.read_failures;

    call_unrestartable(read_end, counts);

    auto deadline = Clock::now() + std::chrono::microseconds(wait_micros(random));
    auto context = state.context().with_deadline(deadline);
    while (context.sleep() == intr::WaitResult::interrupted) {
      state.take_interrupt();
      ++counts.interrupted_waits;
    }
    counts.max_lateness = std::max(counts.max_lateness, Clock::now() - deadline);
    ++counts.timed_waits;

    if (with_guest) {
      // The interrupts during the read and the wait are old news here.
      state.take_interrupt();
      run_short_guest(state, 2ms);
      ++counts.guest_runs;
      // Right after an interrupted guest run is when a signal still on its
      // way would land.
      call_unrestartable(read_end, counts);
    }
    state.take_interrupt();
  }
  counts.signals_received = intr::this_thread::interrupt_signals_received();
}

struct InterrupterCounts {
  long interrupts = 0;
  long interrupted_guest = 0;
  double rate_hz = 0;
};

// Interrupts `handle` every 100 microseconds until `stop`, with absolute
// sleeps and a timer slack of 1 ns so that the rate stays near 10 kHz.
InterrupterCounts interrupt_at_10khz(const intr::ThreadHandle<>& handle, const std::atomic<bool>& stop) {
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  InterrupterCounts counts;
  timespec next{};
  clock_gettime(CLOCK_MONOTONIC, &next);
  auto start = Clock::now();
  while (!stop.load()) {
    if (handle.interrupt() == intr::InterruptResult::interrupted_guest) ++counts.interrupted_guest;
    ++counts.interrupts;
    next.tv_nsec += 100'000;
    if (next.tv_nsec >= 1'000'000'000) {
      next.tv_nsec -= 1'000'000'000;
      ++next.tv_sec;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR) {
    }
  }
  counts.rate_hz = static_cast<double>(counts.interrupts) / std::chrono::duration<double>(Clock::now() - start).count();
  return counts;
}

struct Run {
  HostCounts host;
  InterrupterCounts interrupter;
  long write_eintr = 0;
};

Run run_host_under_interrupts(bool with_guest, std::chrono::milliseconds length) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  Run run;
  auto counts_before = intr::linux_signal::handler_counts();
  {
    Feeder feeder(fds[1]);
    std::atomic<bool> stop{false};
    intr_test::OwningThread host([&](intr::WaitState<>& state) {
      host_loop(state, fds[0], feeder, with_guest, stop, run.host);
    });
    std::thread interrupter([&] { run.interrupter = interrupt_at_10khz(host.handle(), stop); });
    std::this_thread::sleep_for(length);
    stop.store(true);
    interrupter.join();
    host.join();
    run.write_eintr = feeder.write_eintr();
  }
  close(fds[0]);
  close(fds[1]);
  std::uint64_t late = intr::linux_signal::handler_counts().late - counts_before.late;
  std::printf(
      "%s: %ld interrupts at %.0f Hz (%ld sent a signal), %ld reads, %ld timed waits (%ld interrupted), "
      "%ld guest runs, %llu signals received (%llu after the guest returned), max lateness %.3f ms\n",
      with_guest ? "host with guest runs" : "host only", run.interrupter.interrupts, run.interrupter.rate_hz,
      run.interrupter.interrupted_guest, run.host.reads, run.host.timed_waits, run.host.interrupted_waits,
      run.host.guest_runs, static_cast<unsigned long long>(run.host.signals_received),
      static_cast<unsigned long long>(late),
      std::chrono::duration<double, std::milli>(run.host.max_lateness).count());
  return run;
}

constexpr auto lateness_bound = 50ms;

}  // namespace

// Host code is never signalled: interrupts of a thread that never enters
// guest code only set the pending bit, so no read fails and no signal
// arrives, and interrupted waits resume until their own deadline.
TEST_CASE("interrupts never signal host code", "[isolation]") {
  Run run = run_host_under_interrupts(false, std::chrono::milliseconds(intr_test::scaled(2000, 1000)));
  CHECK(run.host.read_eintr == 0);
  CHECK(run.host.read_failures == 0);
  CHECK(run.host.poll_eintr == 0);
  CHECK(run.host.sleep_eintr == 0);
  CHECK(run.host.polls > 0);
  CHECK(run.host.sleeps > 0);
  CHECK(run.write_eintr == 0);
  CHECK(run.host.signals_received == 0);
  CHECK(run.interrupter.interrupted_guest == 0);
  CHECK(run.host.reads > 0);
  CHECK(run.host.timed_waits > 0);
  CHECK(run.host.max_lateness < lateness_bound);
}

// With guest runs in between, real signals are sent, and the guest often
// returns before its signal arrives. finish_running_guest() absorbs that
// signal before host code runs again, so neither restartable calls (read)
// nor never-restarted ones (poll, nanosleep) fail with EINTR.
TEST_CASE("late signals never break host calls", "[isolation]") {
  Run run = run_host_under_interrupts(true, std::chrono::milliseconds(intr_test::scaled(2000, 1000)));
  CHECK(run.host.read_eintr == 0);
  CHECK(run.host.read_failures == 0);
  CHECK(run.host.poll_eintr == 0);
  CHECK(run.host.sleep_eintr == 0);
  CHECK(run.host.polls > 0);
  CHECK(run.host.sleeps > 0);
  CHECK(run.write_eintr == 0);
  CHECK(run.interrupter.interrupted_guest > 0);
  CHECK(run.host.signals_received > 0);
  CHECK(run.host.guest_runs > 0);
  CHECK(run.host.max_lateness < lateness_bound);
}
