#include "engine.hpp"

#include <intr/model/transitions.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#if defined(__SANITIZE_ADDRESS__)
#define INTR_HARNESS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define INTR_HARNESS_ASAN 1
#endif
#endif

#if INTR_HARNESS_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace intr::harness::runtime {

namespace {

Engine* active_engine = nullptr;

constexpr std::size_t stack_size = 256 * 1024;
constexpr std::size_t arena_size = 64 * 1024;

// AddressSanitizer needs a notification at every stack switch; without one
// it reports the fiber's frames as overflows of the scheduler's stack.
void start_switch(void** fake_stack, const void* bottom, std::size_t size) {
#if INTR_HARNESS_ASAN
  __sanitizer_start_switch_fiber(fake_stack, bottom, size);
#else
  (void)fake_stack;
  (void)bottom;
  (void)size;
#endif
}

void finish_switch(void* fake_stack, const void** bottom, std::size_t* size) {
#if INTR_HARNESS_ASAN
  __sanitizer_finish_switch_fiber(fake_stack, bottom, size);
#else
  (void)fake_stack;
  (void)bottom;
  (void)size;
#endif
}

// Hands Boost.Context a stack that the engine owns and reuses.
struct ReusedStack {
  Stack* stack;

  boost::context::stack_context allocate() {
    boost::context::stack_context context;
    context.size = stack->size;
    context.sp = static_cast<char*>(stack->memory) + stack->size;
    return context;
  }
  void deallocate(boost::context::stack_context&) noexcept {}
};

std::uint32_t bit(std::size_t thread) { return 1u << thread; }

}  // namespace

Engine::Engine() {
  long page = sysconf(_SC_PAGESIZE);
  for (Stack& stack : stacks_) {
    // One guard page below each stack turns an overflow into a crash at the
    // faulting frame instead of silent corruption of a neighbour.
    void* memory = mmap(nullptr, stack_size + static_cast<std::size_t>(page), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    mprotect(memory, static_cast<std::size_t>(page), PROT_NONE);
    stack.memory = static_cast<char*>(memory) + page;
    stack.size = stack_size;
  }
  arena_.resize(arena_size);
  destructors_.reserve(64);
  finals_.reserve(8);
  choices_.reserve(4096);
}

Engine::~Engine() {
  long page = sysconf(_SC_PAGESIZE);
  for (Stack& stack : stacks_) {
    munmap(static_cast<char*>(stack.memory) - page, stack.size + static_cast<std::size_t>(page));
  }
}

Engine& Engine::active() {
  if (active_engine == nullptr) {
    std::fputs("intr harness: a model atomic or the model platform was used outside an execution; "
               "create them inside a scenario's build function or its threads\n",
               stderr);
    std::abort();
  }
  return *active_engine;
}

Engine* Engine::active_or_null() { return active_engine; }

void Engine::reset(const Settings& settings) {
  settings_ = settings;
  thread_count_ = 0;
  current_ = -1;
  last_thread_ = -1;
  memory_.reset();
  clock_ = 0;
  spurious_left_ = settings.spurious_wakeups;
  steps_ = 0;
  preemptions_ = 0;
  block_counter_ = 0;
  failed_ = false;
  any_abandoned_ = false;
  started_ = false;
  decided_ = -1;
  failure_ = Failure{};
  choices_.clear();
  raw_steps_.clear();
  record_count_ = 0;
  arena_used_ = 0;
  destructors_.clear();
  finals_.clear();
}

bool Engine::run(const Scenario& scenario, Strategy& strategy, const Settings& settings) {
  reset(settings);
  strategy_ = &strategy;
  active_engine = this;
  try {
    Setup setup(*this);
    scenario.build(setup);
  } catch (...) {
    teardown();
    active_engine = nullptr;
    throw;
  }
  start_threads();
  if (!failed_) schedule_loop();
  for (std::size_t i = 0; i < thread_count_; ++i) finalize_request(threads_[i]);
  if (!failed_) {
    try {
      for (const Final& final : finals_) final.run(final.body);
    } catch (const FinalCheckFailed&) {
    }
  }
  if (!failed_) check_liveness();
  teardown();
  active_engine = nullptr;
  return failed_;
}

void Engine::start_threads() {
  // Each thread runs up to its first scheduling point, in the order the
  // scenario added them; that prefix is part of the setup.
  for (std::size_t i = 0; i < thread_count_ && !failed_; ++i) {
    create_fiber(i);
    resume(i);
  }
}

int Engine::decide() {
  bool alive = compute_point(point_);
  if (point_.enabled == 0) {
    if (alive) report_deadlock();
    return -1;
  }
  if (steps_ >= settings_.step_bound) {
    failed_ = true;
    failure_.kind = FailureKind::step_bound;
    failure_.message = "the execution exceeded the step bound of " + std::to_string(settings_.step_bound) +
                       " steps; a thread may loop forever (raise it with --step-bound if the scenario is "
                       "just long)";
    return -1;
  }
  std::uint32_t thread = strategy_->schedule(point_);
  choices_.push_back(thread);
  if (last_thread_ >= 0 && thread != static_cast<std::uint32_t>(last_thread_) &&
      (point_.enabled & bit(static_cast<std::size_t>(last_thread_))) != 0) {
    ++preemptions_;
  }
  last_thread_ = static_cast<int>(thread);
  ++steps_;
  return static_cast<int>(thread);
}

void Engine::schedule_loop() {
  started_ = true;
  for (;;) {
    if (failed_) return;
    int thread = decided_;
    decided_ = -1;
    if (thread < 0) thread = decide();
    if (thread < 0) return;
    auto index = static_cast<std::size_t>(thread);
    if (threads_[index].status == ThreadStatus::blocked) {
      unblock(index);
    } else {
      step(index);
    }
  }
}

bool Engine::compute_point(SchedulePoint& point) const {
  point.enabled = 0;
  point.last_thread = last_thread_;
  point.step = steps_;
  bool alive = false;
  bool access = strategy_->needs_access();
  for (std::size_t i = 0; i < thread_count_; ++i) {
    const ThreadSlot& slot = threads_[i];
    if (slot.status == ThreadStatus::finished || slot.status == ThreadStatus::abandoned) continue;
    alive = true;
    bool enabled = slot.status == ThreadStatus::runnable || slot.signals_queued > 0 ||
                   (!slot.spinning && (slot.timed || spurious_left_ > 0));
    if (!enabled) continue;
    point.enabled |= bit(i);
    if (access) point.access[i] = access_of(i);
  }
  return alive;
}

AccessSet Engine::access_of(std::size_t thread) const {
  const ThreadSlot& slot = threads_[thread];
  AccessSet set;
  if (slot.status == ThreadStatus::blocked && slot.spinning) {
    // Only a signal delivery moves it; that access is added below.
  } else if (slot.status == ThreadStatus::blocked) {
    set.add(atomic_location(slot.block_location), true);
    if (slot.timed) set.add(clock_location, true);
    if (spurious_left_ > 0) set.add(budget_location, true);
  } else {
    const PendingOp& op = slot.op;
    bool sc = op.order == std::memory_order_seq_cst;
    switch (op.kind) {
      case OpKind::load:
        set.add(atomic_location(op.location), false);
        if (sc) set.add(sc_view_location, false);
        break;
      case OpKind::store:
      case OpKind::compare_exchange:
      case OpKind::modify:
        set.add(atomic_location(op.location), true);
        if (sc) set.add(sc_view_location, true);
        break;
      case OpKind::futex_wait:
      case OpKind::futex_wake:
      case OpKind::futex_return:
        set.add(atomic_location(op.location), true);
        break;
      case OpKind::clock:
        set.add(clock_location, false);
        break;
      case OpKind::signal:
        set.add(queue_location(op.location), true);
        set.add(atomic_location(op.extra), false);
        break;
    }
  }
  if (slot.signals_queued > 0) {
    set.add(queue_location(thread), true);
    if (slot.record >= 0) set.add(atomic_location(records_[static_cast<std::size_t>(slot.record)].word), true);
  }
  return set;
}

void Engine::step(std::size_t thread) {
  ThreadSlot& slot = threads_[thread];
  if (slot.signals_queued > 0 && choose(2) == 1) {
    // The signal arrives before the thread's next operation; the handler
    // runs and the thread stays where it was.
    deliver_signal(thread);
    return;
  }
  resume(thread);
}

void Engine::unblock(std::size_t thread) {
  ThreadSlot& slot = threads_[thread];
  if (slot.spinning) {
    deliver_signal(thread);
    slot.status = ThreadStatus::runnable;
    resume(thread);
    return;
  }
  enum Cause : std::uint8_t { timeout, spurious, signal };
  std::array<Cause, 3> causes{};
  std::uint32_t count = 0;
  if (slot.timed) causes[count++] = timeout;
  if (spurious_left_ > 0) causes[count++] = spurious;
  if (slot.signals_queued > 0) causes[count++] = signal;
  Cause cause = causes[count > 1 ? choose(count) : 0];

  switch (cause) {
    case timeout:
      if (slot.deadline > clock_) clock_ = slot.deadline;
      slot.wake_result = BlockResult::timed_out;
      record_step(OpKind::futex_return, std::memory_order_relaxed, static_cast<std::int32_t>(slot.block_location), 0,
                  0, 1);
      break;
    case spurious:
      --spurious_left_;
      slot.wake_result = BlockResult::woken;
      record_step(OpKind::futex_return, std::memory_order_relaxed, static_cast<std::int32_t>(slot.block_location), 0,
                  0, 2);
      break;
    case signal:
      deliver_signal(thread);
      slot.wake_result = BlockResult::woken;
      break;
  }

  slot.status = ThreadStatus::runnable;
  resume(thread);
}

void Engine::deliver_signal(std::size_t thread) {
  ThreadSlot& slot = threads_[thread];
  --slot.signals_queued;
  if (slot.record < 0) {
    // The thread has no WaitState any more; the handler finds nothing to do.
    ++slot.signals.late;
    record_step(OpKind::signal, std::memory_order_relaxed, -1, 0, 0, 2);
    return;
  }
  // The handler runs on the target thread: an acquire load of its own word,
  // as the Linux handler does, then the table decides.
  std::uint32_t word = records_[static_cast<std::size_t>(slot.record)].word;
  memory_.acquire_view(thread, slot.signal_view);
  engine::Read read = memory_.load(thread, word, std::memory_order_acquire, *this);
  auto value = static_cast<std::uint32_t>(read.value);
  model::Transition transition =
      ModelPlatform::transition(model::state_of(value), model::Event::platform_interrupt_delivered);
  bool accepted = transition.action == model::Action::return_to_host;
  if (accepted) {
    ++slot.signals.accepted;
  } else {
    ++slot.signals.late;
  }
  record_step(OpKind::signal, std::memory_order_acquire, static_cast<std::int32_t>(word), value, value,
              accepted ? 1 : 2);
}

void Engine::report_deadlock() {
  failed_ = true;
  failure_.kind = FailureKind::deadlock;
  std::string message =
      "no thread can run, and no timeout, spurious wake-up or signal delivery can fire. Threads:";
  for (std::size_t i = 0; i < thread_count_; ++i) {
    const ThreadSlot& slot = threads_[i];
    message += "\n  ";
    message += slot.name;
    if (slot.status == ThreadStatus::finished) {
      message += ": finished";
    } else if (slot.status == ThreadStatus::blocked && slot.spinning) {
      message += ": runs guest code that only a platform interrupt can end, and none is queued";
    } else if (slot.status == ThreadStatus::blocked) {
      message += ": blocked in a futex wait on " + location_name(static_cast<std::int32_t>(slot.block_location)) +
                 " = " + describe_value(static_cast<std::int32_t>(slot.block_location), memory_.latest(slot.block_location)) +
                 ", no deadline";
    } else {
      message += ": runnable";
    }
  }
  failure_.message = std::move(message);
}

void Engine::check_liveness() {
  for (std::size_t r = 0; r < record_count_; ++r) {
    const RecordInfo& record = records_[r];
    const engine::Location& word = memory_.location(record.word);
    const engine::Message& last = word.messages[word.count - 1];
    if (model::is_pending(static_cast<std::uint32_t>(last.value))) continue;
    for (std::uint32_t q = 0; q < record.request_count; ++q) {
      const Request& request = record.requests[q];
      std::uint16_t position = 0;
      while (position < word.count && word.messages[position].serial != request.serial) ++position;
      bool covered = false;
      for (std::uint16_t later = static_cast<std::uint16_t>(position + 1); later < word.count; ++later) {
        const engine::Message& message = word.messages[later];
        const engine::Message& previous = word.messages[later - 1];
        if (message.rmw && model::is_pending(static_cast<std::uint32_t>(previous.value)) &&
            !model::is_pending(static_cast<std::uint32_t>(message.value))) {
          covered = true;
          break;
        }
      }
      if (covered) continue;
      failed_ = true;
      failure_.kind = FailureKind::liveness;
      failure_.thread = thread_name(request.thread);
      failure_.message = "lost interrupt: the request that " + thread_name(request.thread) + " made of " +
                         thread_name(record.owner) +
                         " was never taken by it, and the pending bit is clear when the execution ends";
      return;
    }
  }
}

void Engine::finalize_request(ThreadSlot& slot) {
  if (slot.requesting < 0) return;
  RecordInfo& record = records_[static_cast<std::size_t>(slot.requesting)];
  if (slot.request_serial >= 0 && record.request_count < record.requests.size()) {
    record.requests[record.request_count++] = {static_cast<std::uint32_t>(slot.request_serial),
                                               static_cast<std::int8_t>(&slot - threads_.data())};
  }
  slot.requesting = -1;
  slot.request_serial = -1;
}

void Engine::note_request_access(ThreadSlot& slot, std::uint32_t location, std::uint32_t serial, bool wrote) {
  if (slot.requesting < 0) return;
  if (records_[static_cast<std::size_t>(slot.requesting)].word != location) {
    finalize_request(slot);
    return;
  }
  slot.request_serial = serial;
  if (wrote) finalize_request(slot);
}

void Engine::teardown() {
  current_ = -1;
  for (std::size_t i = 0; i < thread_count_; ++i) {
    ThreadSlot& slot = threads_[i];
    if (slot.status == ThreadStatus::finished || slot.status == ThreadStatus::abandoned) continue;
    // A thread still blocked or runnable when the execution stopped (a
    // deadlock, the step bound) is abandoned like a failing one.
    slot.status = ThreadStatus::abandoned;
    any_abandoned_ = true;
    new (&abandoned_[i]) boost::context::fiber(std::move(slot.fiber));
  }
  for (auto it = destructors_.rbegin(); it != destructors_.rend(); ++it) it->destroy(it->object);
  destructors_.clear();
  if (any_abandoned_) {
    // Abandoned threads never ran their destructors, so the blocks that
    // their WaitStates and handles shared are still allocated. Nothing can
    // reach them any more: the fibers are never resumed.
    using Block = intr::detail::SharedBlock<ModelPlatform>;
    for (std::size_t r = 0; r < record_count_; ++r) {
      RecordInfo& record = records_[r];
      if (record.released) continue;
      auto* block = static_cast<Block*>(record.block);
      block->~Block();
      ::operator delete(block, std::align_val_t{alignof(Block)});
      record.released = true;
    }
  }
}

// --- Fibers -----------------------------------------------------------------

void Engine::create_fiber(std::size_t thread) {
#if INTR_HARNESS_ASAN
  // An abandoned thread never returned from its frames, so their redzones
  // are still poisoned; the reused stack starts clean.
  __asan_unpoison_memory_region(stacks_[thread].memory, stacks_[thread].size);
#endif
  threads_[thread].fiber = boost::context::fiber(
      std::allocator_arg, ReusedStack{&stacks_[thread]}, [this, thread](boost::context::fiber&& scheduler) {
        finish_switch(nullptr, const_cast<const void**>(&scheduler_stack_bottom_), &scheduler_stack_size_);
        ThreadSlot& slot = threads_[thread];
        slot.scheduler = std::move(scheduler);
        slot.run(slot.body);
        finalize_request(slot);
        slot.status = ThreadStatus::finished;
        start_switch(nullptr, scheduler_stack_bottom_, scheduler_stack_size_);
        return std::move(slot.scheduler);
      });
}

void Engine::resume(std::size_t thread) {
  ThreadSlot& slot = threads_[thread];
  current_ = static_cast<int>(thread);
  void* fake_stack = nullptr;
  start_switch(&fake_stack, stacks_[thread].memory, stacks_[thread].size);
  slot.fiber = std::move(slot.fiber).resume();
  finish_switch(fake_stack, nullptr, nullptr);
  current_ = -1;
  if (slot.status == ThreadStatus::abandoned) {
    // Destroying a suspended fiber would unwind it, but an abandoned one
    // must never run again. Its handle is parked in storage that is reused
    // without running the destructor.
    new (&abandoned_[thread]) boost::context::fiber(std::move(slot.fiber));
  }
}

void Engine::suspend_current() {
  ThreadSlot& slot = threads_[static_cast<std::size_t>(current_)];
  start_switch(&slot.fake_stack, scheduler_stack_bottom_, scheduler_stack_size_);
  slot.scheduler = std::move(slot.scheduler).resume();
  finish_switch(slot.fake_stack, const_cast<const void**>(&scheduler_stack_bottom_), &scheduler_stack_size_);
}

void Engine::abandon_current() {
  ThreadSlot& slot = threads_[static_cast<std::size_t>(current_)];
  slot.status = ThreadStatus::abandoned;
  any_abandoned_ = true;
  start_switch(nullptr, scheduler_stack_bottom_, scheduler_stack_size_);
  std::move(slot.scheduler).resume();
  std::abort();  // the engine never resumes an abandoned thread
}

void Engine::yield_for(const PendingOp& op) {
  ThreadSlot& slot = threads_[static_cast<std::size_t>(current_)];
  slot.op = op;
  if (started_ && slot.signals_queued == 0) {
    // Decide here, on the thread's own stack: when the same thread goes on,
    // which is most steps, no fiber switch is needed at all.
    int thread = decide();
    if (thread == current_) return;
    decided_ = thread;
  }
  suspend_current();
}

void Engine::record_step(OpKind kind, std::memory_order order, std::int32_t location, Value before, Value after,
                         std::uint32_t detail) {
  if (!settings_.record) return;
  raw_steps_.push_back({static_cast<std::int8_t>(current_ >= 0 ? current_ : last_thread_),
                        static_cast<std::uint8_t>(kind), order, location, before, after, detail});
}

std::uint32_t Engine::choose(std::uint32_t count) {
  std::uint32_t choice = strategy_->choose(count);
  choices_.push_back(choice);
  return choice;
}

}  // namespace intr::harness::runtime
