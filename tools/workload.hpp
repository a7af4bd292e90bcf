// A built-in workload that drives every interrupt path of intr with real
// threads. `intr demo` prints what it measured; `intr trace` traces it.
//
// Worker threads cycle through four activities. Each runs until an interrupt
// ends it, or until a 50 ms safety limit passes:
//  - an interruptible wait whose predicate is never true;
//  - a wait that the watchdog ends with a Waker;
//  - a cooperative guest loop that polls this_thread::interrupt_requested(),
//    blocked in ppoll() or spinning;
//  - host code that polls WaitState::interrupt_pending(). After every round of the four a worker
// replaces its WaitState with one of the other guest delivery mode, so both
// signal and polling delivery run on every worker.
//
// A watchdog thread interrupts the workers in turn at a fixed rate. It keeps
// at most one interrupt in flight per worker, so interrupts never merge in
// the sticky pending bit and each interrupt() call is matched by exactly one
// observation. Latency is measured from just before interrupt() to the moment
// the worker has taken the request, with steady_clock on both threads. The
// sample buffers are allocated before the threads start.
//
// NOTE: the latency includes scheduling. With no idle CPU, the watchdog may
// wake on the CPU of the spinning worker it is about to interrupt, and that
// worker observes the request only once the watchdog sleeps again, which
// adds microseconds. `intr bench` pins its threads apart to avoid that.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace intr::tools {

// The state in which interrupt() found its target, from its InterruptResult
// and the worker's guest delivery mode.
enum class InterruptKind : std::uint8_t {
  waiting,        // in an interruptible wait: the futex was woken
  guest_signal,   // in guest code with signal delivery: the signal was sent
  guest_polling,  // in guest code with polling delivery: the guest polls the state word
  host,           // in host code, or woken and not yet back: the worker takes the pending bit later
};
inline constexpr std::size_t kind_count = 4;
inline constexpr std::array<InterruptKind, kind_count> all_kinds{
    InterruptKind::waiting, InterruptKind::guest_signal, InterruptKind::guest_polling, InterruptKind::host};

std::string_view name(InterruptKind kind);

struct WorkloadConfig {
  // Worker threads, from 1 to max_threads.
  unsigned threads = 2;
  // How long the watchdog interrupts; zero means until Workload::stop().
  std::chrono::nanoseconds duration = std::chrono::seconds(2);
  // Interrupts per second over all workers, above 0 and at most max_rate.
  double rate = 1000.0;
  // Latency samples kept per kind; 0 sizes the buffers from rate and
  // duration. Interrupts beyond it are counted but leave no sample.
  std::size_t samples_per_kind = 0;

  static constexpr unsigned max_threads = 1024;
  static constexpr double max_rate = 1'000'000.0;
};

// Nearest-rank percentiles of the stored samples, in nanoseconds; all zero
// when there are none.
struct LatencySummary {
  std::size_t samples = 0;
  std::int64_t p50_ns = 0;
  std::int64_t p99_ns = 0;
  std::int64_t max_ns = 0;
};

struct KindResult {
  std::uint64_t requested = 0;  // interrupt() calls that found the target in this kind of state
  std::uint64_t observed = 0;   // of those, the ones the worker took
  LatencySummary latency;       // from the interrupt() call to the worker taking it
};

struct WorkloadResult {
  std::array<KindResult, kind_count> kinds{};
  // Waker::wake() calls that found a worker waiting and woke it.
  std::uint64_t wakes = 0;
  // Interrupt signals that reached the handler while the guest run they were
  // sent to was still on (accepted) or after it had ended (late). Counted for
  // the whole process while the workload ran.
  std::uint64_t signals_accepted = 0;
  std::uint64_t signals_late = 0;
  // interrupt() calls whose platform interrupt could not be sent; the
  // pending bit was set all the same.
  std::uint64_t send_failures = 0;
  // Watchdog ticks that found no worker to interrupt: each one had an
  // interrupt in flight or was replacing its WaitState.
  std::uint64_t skipped_ticks = 0;
  // Time from the first tick to the last.
  std::chrono::nanoseconds elapsed{0};

  const KindResult& operator[](InterruptKind kind) const { return kinds[static_cast<std::size_t>(kind)]; }
  std::uint64_t requested() const;
  std::uint64_t observed() const;
};

// Runs the workload on its own threads. Construct, start(), then join()
// from the same thread; stop() may be called from any thread.
class Workload {
 public:
  // Throws std::invalid_argument, naming the field, when the config is out
  // of range. Allocates every sample buffer.
  explicit Workload(const WorkloadConfig& config);
  ~Workload();  // stops and joins the threads if join() was not called
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  // Starts the watchdog and the workers. Call once.
  void start();

  // Asks the watchdog to stop before the duration ends. Returns at once.
  void stop() noexcept;

  // Waits until the duration has passed or stop() was called and every
  // thread has finished, then returns the counts and latencies. Call once,
  // after start(). Throws std::runtime_error when a worker could not set up
  // its WaitState (for example, when no real-time signal is free).
  WorkloadResult join();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs a workload for config.duration (which must not be zero) and returns
// its result.
WorkloadResult run_workload(const WorkloadConfig& config);

}  // namespace intr::tools
