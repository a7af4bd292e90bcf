#include "workload.hpp"

#include <intr/intr.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <limits>
#include <mutex>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace intr::tools {
namespace {

using Clock = std::chrono::steady_clock;

// How long one activity may run when no interrupt ends it. It bounds how
// long a worker takes to notice a stop when no interrupt reaches it.
constexpr std::int64_t activity_limit_ns = 50'000'000;
// How long a blocked guest stays in one ppoll() call. A signal that lands
// just before ppoll() starts does not break it, so the guest re-polls
// interrupt_requested() at least this often.
constexpr timespec guest_block_timeout{0, 5'000'000};
// Pause between shutdown passes of the watchdog.
constexpr auto shutdown_pass_interval = std::chrono::microseconds(200);
// Bounds of the sample buffers that the constructor sizes by itself.
constexpr std::size_t default_samples_unbounded = std::size_t{1} << 18;
constexpr std::size_t max_default_samples = std::size_t{1} << 20;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until done() returns true (returns true) or the clock passes
// limit_ns (returns false). Reads the clock every 256 spins.
template <class Done>
bool spin_until(Done&& done, std::int64_t limit_ns) {
  for (std::uint32_t spins = 0;; ++spins) {
    if (done()) return true;
    cpu_relax();
    if ((spins & 0xff) == 0xff && now_ns() >= limit_ns) return false;
  }
}

// Latency samples of one kind. Any thread may add; the samples are read
// only after every thread has been joined.
class SampleBuffer {
 public:
  void allocate(std::size_t capacity) { samples_.assign(capacity, 0); }

  void add(std::int64_t nanoseconds) {
    // Relaxed: the index only has to be unique, and join() orders every
    // write before the reads.
    std::uint64_t index = count_.fetch_add(1, std::memory_order_relaxed);
    if (index < samples_.size()) samples_[index] = nanoseconds;
  }

  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

  // Sorts the stored samples and returns their percentiles.
  LatencySummary summarize() {
    std::size_t stored = static_cast<std::size_t>(std::min<std::uint64_t>(count(), samples_.size()));
    LatencySummary summary;
    summary.samples = stored;
    if (stored == 0) return summary;
    auto end = samples_.begin() + static_cast<std::ptrdiff_t>(stored);
    std::sort(samples_.begin(), end);
    auto rank = [stored](double fraction) {
      auto index = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(stored)));
      return std::clamp<std::size_t>(index, 1, stored) - 1;
    };
    summary.p50_ns = samples_[rank(0.50)];
    summary.p99_ns = samples_[rank(0.99)];
    summary.max_ns = samples_[stored - 1];
    return summary;
  }

 private:
  std::vector<std::int64_t> samples_;
  std::atomic<std::uint64_t> count_{0};
};

// The state that the watchdog shares with one worker, on its own cache line
// so that workers do not slow each other down.
struct alignas(64) WorkerSlot {
  // Guards handle, waker and delivery. The worker replaces its WaitState
  // under it, and the watchdog keeps it locked across interrupt(), so no
  // request reaches a WaitState that is being destroyed.
  std::mutex mutex;
  std::optional<ThreadHandle<>> handle;
  std::optional<Waker<>> waker;
  GuestDelivery delivery = GuestDelivery::signal;

  // The one interrupt in flight to this worker. The watchdog sets
  // `outstanding` and `requested_at` before interrupt() and `kind` after
  // it; the worker sets `observed_at` when it takes the request. Each then
  // adds one to `parts`, and whichever is second records the sample and
  // clears `outstanding`.
  std::atomic<bool> outstanding{false};
  std::atomic<std::int64_t> requested_at{0};
  std::atomic<std::int64_t> observed_at{0};
  std::atomic<InterruptKind> kind{InterruptKind::host};
  std::atomic<std::uint32_t> parts{0};

  // The worker's wake-up wait: it sets wants_wake and waits for wake_flag,
  // which the watchdog sets before calling Waker::wake().
  std::atomic<bool> wants_wake{false};
  std::atomic<bool> wake_flag{false};
};

InterruptKind classify(InterruptResult result, GuestDelivery delivery) {
  switch (result) {
    case InterruptResult::woke_waiter:
      return InterruptKind::waiting;
    case InterruptResult::interrupted_guest:
    case InterruptResult::thread_exited:
      // thread_exited cannot come from the has_exited() check here, because
      // the watchdog holds the slot's mutex, so it means the state word
      // already moved to interrupted_guest and the signal failed to send.
      return delivery == GuestDelivery::signal ? InterruptKind::guest_signal : InterruptKind::guest_polling;
    case InterruptResult::recorded:
      break;
  }
  return InterruptKind::host;
}

}  // namespace

std::string_view name(InterruptKind kind) {
  switch (kind) {
    case InterruptKind::waiting: return "waiting";
    case InterruptKind::guest_signal: return "guest_signal";
    case InterruptKind::guest_polling: return "guest_polling";
    case InterruptKind::host: return "host";
  }
  return "invalid";
}

std::uint64_t WorkloadResult::requested() const {
  std::uint64_t total = 0;
  for (const KindResult& kind : kinds) total += kind.requested;
  return total;
}

std::uint64_t WorkloadResult::observed() const {
  std::uint64_t total = 0;
  for (const KindResult& kind : kinds) total += kind.observed;
  return total;
}

struct Workload::Impl {
  explicit Impl(const WorkloadConfig& config);

  void run_worker(unsigned index);
  void run_round(WaitState<>& state, WorkerSlot& slot, bool block_guest);
  void publish(WaitState<>& state, WorkerSlot& slot, GuestDelivery delivery);
  void retire(WaitState<>& state, WorkerSlot& slot);
  void settle(WaitState<>& state, WorkerSlot& slot);
  void wait_for_wake(WaitState<>& state, WorkerSlot& slot);
  void run_guest(WaitState<>& state, bool block_in_system_call);

  void run_watchdog();
  void run_ticks(WaitState<>& own);
  void shut_down(WaitState<>& own);
  bool try_interrupt(WorkerSlot& slot);
  bool interrupt_next_worker();
  void wake_waiters();
  void complete(WorkerSlot& slot);

  void fail(const std::string& message);

  WorkloadConfig config;
  std::unique_ptr<WorkerSlot[]> slots;
  std::array<SampleBuffer, kind_count> samples;

  // Written by the watchdog only; read after it is joined.
  std::array<std::uint64_t, kind_count> requested{};
  std::uint64_t wakes = 0;
  std::uint64_t send_failures = 0;
  std::uint64_t skipped_ticks = 0;
  std::int64_t first_tick_ns = 0;
  std::int64_t last_tick_ns = 0;
  unsigned next_worker = 0;

  // stop() sets stop_requested. The watchdog then sets stopping, and the
  // workers leave after their current activity.
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> stopping{false};
  std::atomic<unsigned> live_workers{0};

  std::mutex watchdog_mutex;
  std::optional<ThreadHandle<>> watchdog_handle;  // guarded by watchdog_mutex

  std::mutex error_mutex;
  std::string error;  // guarded by error_mutex

  linux_signal::HandlerCounts signals_before{};
  std::thread watchdog;
  std::vector<std::thread> workers;
  bool started = false;
  bool joined = false;
};

Workload::Impl::Impl(const WorkloadConfig& settings) : config(settings) {
  if (config.threads < 1 || config.threads > WorkloadConfig::max_threads) {
    throw std::invalid_argument("threads must be from 1 to " + std::to_string(WorkloadConfig::max_threads) +
                                ", not " + std::to_string(config.threads));
  }
  if (!(config.rate > 0.0) || !(config.rate <= WorkloadConfig::max_rate)) {
    throw std::invalid_argument("rate must be above 0 and at most " + std::to_string(WorkloadConfig::max_rate) +
                                " interrupts per second, not " + std::to_string(config.rate));
  }
  if (config.duration < std::chrono::nanoseconds::zero()) {
    throw std::invalid_argument("duration must not be negative");
  }
  std::size_t capacity = config.samples_per_kind;
  if (capacity == 0) {
    if (config.duration == std::chrono::nanoseconds::zero()) {
      capacity = default_samples_unbounded;
    } else {
      double seconds = std::chrono::duration<double>(config.duration).count();
      double expected = config.rate * seconds + 8.0 * config.threads + 64.0;
      capacity = static_cast<std::size_t>(std::min(expected, static_cast<double>(max_default_samples)));
    }
  }
  for (SampleBuffer& buffer : samples) buffer.allocate(capacity);
  slots = std::make_unique<WorkerSlot[]>(config.threads);
}

void Workload::Impl::fail(const std::string& message) {
  {
    std::lock_guard lock(error_mutex);
    if (error.empty()) error = message;
  }
  // Seq_cst: the watchdog's wait reads the flag in its interrupt predicate.
  stop_requested.store(true, std::memory_order_seq_cst);
  stopping.store(true, std::memory_order_seq_cst);
  std::lock_guard lock(watchdog_mutex);
  if (watchdog_handle) watchdog_handle->interrupt();
}

// Records the sample of the interrupt in flight once both the watchdog and
// the worker have done their part.
void Workload::Impl::complete(WorkerSlot& slot) {
  // Acq_rel: the second party reads what the first stored before adding.
  if (slot.parts.fetch_add(1, std::memory_order_acq_rel) != 1) return;
  std::int64_t latency = slot.observed_at.load(std::memory_order_relaxed) -
                         slot.requested_at.load(std::memory_order_relaxed);
  samples[static_cast<std::size_t>(slot.kind.load(std::memory_order_relaxed))].add(latency);
  slot.parts.store(0, std::memory_order_relaxed);
  // Release: the watchdog's acquire load of `outstanding` orders its next
  // request after the reads and the reset above.
  slot.outstanding.store(false, std::memory_order_release);
}

// ---- Workers ----

void Workload::Impl::run_worker(unsigned index) {
  WorkerSlot& slot = slots[index];
  GuestDelivery delivery = index % 2 == 0 ? GuestDelivery::signal : GuestDelivery::polling;
  unsigned signal_rounds = 0;
  while (!stopping.load(std::memory_order_acquire)) {
    WaitState<> state(delivery);
    publish(state, slot, delivery);
    bool block_guest = delivery == GuestDelivery::signal && signal_rounds++ % 2 == 0;
    run_round(state, slot, block_guest);
    retire(state, slot);
    delivery = delivery == GuestDelivery::signal ? GuestDelivery::polling : GuestDelivery::signal;
  }
}

// One of each activity, each ended by an interrupt, a wake-up or the
// activity limit, and each followed by taking the interrupt it may have left.
void Workload::Impl::run_round(WaitState<>& state, WorkerSlot& slot, bool block_guest) {
  auto stopped = [this] { return stopping.load(std::memory_order_acquire); };

  state.context().with_timeout(std::chrono::nanoseconds(activity_limit_ns)).wait_until([] { return false; });
  settle(state, slot);
  if (stopped()) return;

  wait_for_wake(state, slot);
  settle(state, slot);
  if (stopped()) return;

  run_guest(state, block_guest);
  settle(state, slot);
  if (stopped()) return;

  spin_until([&state] { return state.interrupt_pending(); }, now_ns() + activity_limit_ns);
  settle(state, slot);
}

void Workload::Impl::publish(WaitState<>& state, WorkerSlot& slot, GuestDelivery delivery) {
  std::lock_guard lock(slot.mutex);
  slot.handle.emplace(state.thread_handle());
  slot.waker.emplace(state.waker());
  slot.delivery = delivery;
}

void Workload::Impl::retire(WaitState<>& state, WorkerSlot& slot) {
  {
    std::lock_guard lock(slot.mutex);
    slot.handle.reset();
    slot.waker.reset();
  }
  // A request that landed before the handle was withdrawn is still pending.
  settle(state, slot);
}

// Takes a pending interrupt, if any, and records when it was observed.
void Workload::Impl::settle(WaitState<>& state, WorkerSlot& slot) {
  if (!state.take_interrupt()) return;
  slot.observed_at.store(now_ns(), std::memory_order_relaxed);
  complete(slot);
}

void Workload::Impl::wait_for_wake(WaitState<>& state, WorkerSlot& slot) {
  // Seq_cst: the flag is the waiter's condition, read by the predicate and
  // set by the watchdog before wake(), as the wait-state contract requires.
  slot.wake_flag.store(false, std::memory_order_seq_cst);
  slot.wants_wake.store(true, std::memory_order_seq_cst);
  state.context()
      .with_timeout(std::chrono::nanoseconds(activity_limit_ns))
      .wait_until([&slot] { return slot.wake_flag.load(std::memory_order_seq_cst); });
  slot.wants_wake.store(false, std::memory_order_relaxed);
}

// A cooperative guest run: it polls interrupt_requested() while blocked in
// ppoll() or while spinning, until an interrupt or the activity limit.
void Workload::Impl::run_guest(WaitState<>& state, bool block_in_system_call) {
  if (state.prepare_to_run_guest() != GuestEntry::entered) return;
  std::int64_t limit = now_ns() + activity_limit_ns;
  if (block_in_system_call) {
    // The interrupt signal makes ppoll() fail with EINTR.
    this_thread::InterruptibleSystemCalls breakable;
    while (!this_thread::interrupt_requested() && now_ns() < limit) {
      ppoll(nullptr, 0, &guest_block_timeout, nullptr);
    }
  } else {
    spin_until([] { return this_thread::interrupt_requested(); }, limit);
  }
  state.finish_running_guest();
}

// ---- Watchdog ----

void Workload::Impl::run_watchdog() {
  WaitState<> own(GuestDelivery::polling);
  {
    std::lock_guard lock(watchdog_mutex);
    watchdog_handle.emplace(own.thread_handle());
  }
  run_ticks(own);
  // Seq_cst: workers read it between activities; nothing else is published.
  stopping.store(true, std::memory_order_seq_cst);
  shut_down(own);
  std::lock_guard lock(watchdog_mutex);
  watchdog_handle.reset();
}

// Interrupts one worker per tick until the duration has passed or stop()
// was called. Waiting workers are woken half a tick later, so that a wake-up
// and an interrupt do not land on one worker at the same moment.
void Workload::Impl::run_ticks(WaitState<>& own) {
  const double interval_ns = 1e9 / config.rate;
  const std::int64_t start = now_ns();
  const std::int64_t unbounded = std::numeric_limits<std::int64_t>::max();
  const std::int64_t length = config.duration.count();
  const std::int64_t end = length > 0 && length < unbounded - start ? start + length : unbounded;
  first_tick_ns = start;

  // Sleeps until `ticks` intervals after the start, or the end; returns
  // false once the run is over.
  auto sleep_until_tick = [&](double ticks) {
    double due = static_cast<double>(start) + ticks * interval_ns;
    std::int64_t due_ns = due >= static_cast<double>(end) ? end : static_cast<std::int64_t>(due);
    auto stop_check = [this] { return stop_requested.load(std::memory_order_seq_cst); };
    own.context().with_deadline(Clock::time_point{std::chrono::nanoseconds(due_ns)})
        .with_check_for_interrupt(stop_check)
        .sleep();
    own.take_interrupt();
    return !stop_check() && now_ns() < end;
  };

  for (std::uint64_t ticks = 0; sleep_until_tick(static_cast<double>(ticks)); ++ticks) {
    if (!interrupt_next_worker()) ++skipped_ticks;
    if (!sleep_until_tick(static_cast<double>(ticks) + 0.5)) break;
    wake_waiters();
  }
  last_tick_ns = now_ns();
}

// Keeps waking and interrupting the workers until every one has left.
void Workload::Impl::shut_down(WaitState<>& own) {
  while (live_workers.load(std::memory_order_acquire) > 0) {
    wake_waiters();
    for (unsigned i = 0; i < config.threads; ++i) try_interrupt(slots[i]);
    own.context().with_timeout(shutdown_pass_interval).sleep();
    own.take_interrupt();
  }
}

bool Workload::Impl::interrupt_next_worker() {
  for (unsigned tried = 0; tried < config.threads; ++tried) {
    unsigned index = next_worker;
    next_worker = (next_worker + 1) % config.threads;
    if (try_interrupt(slots[index])) return true;
  }
  return false;
}

bool Workload::Impl::try_interrupt(WorkerSlot& slot) {
  std::unique_lock lock(slot.mutex);
  if (!slot.handle) return false;
  // Acquire: pairs with the release in complete(), so the previous sample
  // has been read before the fields are reused.
  if (slot.outstanding.load(std::memory_order_acquire)) return false;
  slot.outstanding.store(true, std::memory_order_relaxed);
  slot.requested_at.store(now_ns(), std::memory_order_relaxed);
  InterruptResult result = slot.handle->interrupt();
  InterruptKind kind = classify(result, slot.delivery);
  lock.unlock();

  if (result == InterruptResult::thread_exited) ++send_failures;
  ++requested[static_cast<std::size_t>(kind)];
  slot.kind.store(kind, std::memory_order_relaxed);
  complete(slot);
  return true;
}

void Workload::Impl::wake_waiters() {
  for (unsigned i = 0; i < config.threads; ++i) {
    WorkerSlot& slot = slots[i];
    if (!slot.wants_wake.load(std::memory_order_acquire)) continue;
    // Seq_cst: the worker's predicate reads the flag after it stored
    // `waiting`; wake() reads the state after this store.
    if (slot.wake_flag.exchange(true, std::memory_order_seq_cst)) continue;
    std::lock_guard lock(slot.mutex);
    if (slot.waker && slot.waker->wake() == WakeResult::woken) ++wakes;
  }
}

// ---- Workload ----

Workload::Workload(const WorkloadConfig& config) : impl_(std::make_unique<Impl>(config)) {}

Workload::~Workload() {
  if (!impl_->started || impl_->joined) return;
  stop();
  if (impl_->watchdog.joinable()) impl_->watchdog.join();
  for (std::thread& worker : impl_->workers) {
    if (worker.joinable()) worker.join();
  }
}

void Workload::start() {
  Impl& impl = *impl_;
  if (impl.started) throw std::logic_error("Workload::start() called twice");
  impl.started = true;
  impl.signals_before = linux_signal::handler_counts();
  impl.live_workers.store(impl.config.threads, std::memory_order_relaxed);
  impl.workers.reserve(impl.config.threads);
  for (unsigned i = 0; i < impl.config.threads; ++i) {
    impl.workers.emplace_back([&impl, i] {
      try {
        impl.run_worker(i);
      } catch (const std::exception& e) {
        impl.fail("worker " + std::to_string(i) + ": " + e.what());
      }
      // Release: the watchdog's acquire load orders this worker's last
      // observation before the watchdog stops interrupting.
      impl.live_workers.fetch_sub(1, std::memory_order_release);
    });
  }
  impl.watchdog = std::thread([&impl] {
    try {
      impl.run_watchdog();
    } catch (const std::exception& e) {
      impl.fail(std::string("watchdog: ") + e.what());
    }
  });
}

void Workload::stop() noexcept {
  // Seq_cst: the watchdog's wait reads the flag in its interrupt predicate,
  // so this store must precede the read of its state in interrupt().
  impl_->stop_requested.store(true, std::memory_order_seq_cst);
  std::lock_guard lock(impl_->watchdog_mutex);
  if (impl_->watchdog_handle) impl_->watchdog_handle->interrupt();
}

WorkloadResult Workload::join() {
  Impl& impl = *impl_;
  if (!impl.started || impl.joined) throw std::logic_error("Workload::join() needs one start() and is called once");
  impl.watchdog.join();
  for (std::thread& worker : impl.workers) worker.join();
  impl.joined = true;
  if (!impl.error.empty()) throw std::runtime_error(impl.error);

  WorkloadResult result;
  for (std::size_t k = 0; k < kind_count; ++k) {
    result.kinds[k].requested = impl.requested[k];
    result.kinds[k].observed = impl.samples[k].count();
    result.kinds[k].latency = impl.samples[k].summarize();
  }
  linux_signal::HandlerCounts after = linux_signal::handler_counts();
  result.wakes = impl.wakes;
  result.signals_accepted = after.accepted - impl.signals_before.accepted;
  result.signals_late = after.late - impl.signals_before.late;
  result.send_failures = impl.send_failures;
  result.skipped_ticks = impl.skipped_ticks;
  result.elapsed = std::chrono::nanoseconds(impl.last_tick_ns - impl.first_tick_ns);
  return result;
}

WorkloadResult run_workload(const WorkloadConfig& config) {
  if (config.duration <= std::chrono::nanoseconds::zero()) {
    throw std::invalid_argument("run_workload needs a duration above zero; use Workload and stop() otherwise");
  }
  Workload workload(config);
  workload.start();
  return workload.join();
}

}  // namespace intr::tools
