// The engine: runs one execution of a scenario on fibers, stops each logical
// thread at its scheduling points, and lets a Strategy pick the thread that
// runs next and the value that a load reads.
//
// Logical threads are Boost.Context fibers rather than OS threads passing a
// baton: a fiber switch costs nanoseconds where a futex hand-off between OS
// threads costs microseconds, and the explorer runs hundreds of thousands of
// executions per second. The stacks are allocated once per engine and
// reused by every execution.
#pragma once

#include "memory.hpp"

#include <intr/harness/explorer.hpp>
#include <intr/harness/model_platform.hpp>
#include <intr/harness/scenario.hpp>

#include <boost/context/fiber.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace intr::harness::runtime {

using engine::max_threads;

// Locations of the explorer's dependency relation: the global SC view, the
// clock, the spurious wake-up budget, one signal queue per thread, then the
// atomics.
inline constexpr std::uint16_t sc_view_location = 0;
inline constexpr std::uint16_t clock_location = 1;
inline constexpr std::uint16_t budget_location = 2;
constexpr std::uint16_t queue_location(std::size_t thread) { return static_cast<std::uint16_t>(3 + thread); }
constexpr std::uint16_t atomic_location(std::uint32_t location) {
  return static_cast<std::uint16_t>(3 + max_threads + location);
}
inline constexpr std::size_t dependency_locations = 3 + max_threads + engine::max_locations;

struct Access {
  std::uint16_t location;
  bool write;
};

struct AccessSet {
  std::array<Access, 6> items{};
  std::uint8_t count = 0;

  void add(std::uint16_t location, bool write) {
    for (std::uint8_t i = 0; i < count; ++i) {
      if (items[i].location == location) {
        items[i].write = items[i].write || write;
        return;
      }
    }
    items[count++] = {location, write};
  }
};

// Two steps of different threads depend on each other when they access one
// location and at least one of them writes it.
inline bool dependent(const AccessSet& a, const AccessSet& b) {
  for (std::uint8_t i = 0; i < a.count; ++i) {
    for (std::uint8_t j = 0; j < b.count; ++j) {
      if (a.items[i].location == b.items[j].location && (a.items[i].write || b.items[j].write)) return true;
    }
  }
  return false;
}

// The state of a scheduling point, as a strategy reads it.
struct SchedulePoint {
  std::uint32_t enabled = 0;  // bit t: thread t can take a step
  std::array<AccessSet, max_threads> access{};
  int last_thread = -1;       // the thread of the previous step
  std::uint32_t step = 0;
};

class Strategy {
 public:
  // Whether schedule() reads SchedulePoint::access; only DPOR does.
  virtual bool needs_access() const { return false; }
  // Returns the thread that takes the next step; one of `point.enabled`.
  virtual std::uint32_t schedule(const SchedulePoint& point) = 0;
  // Returns one of `count` alternatives of a choice inside a step.
  virtual std::uint32_t choose(std::uint32_t count) = 0;
  // Whether the engine should stop: the execution is redundant.
  virtual bool stop_requested() const { return false; }

 protected:
  ~Strategy() = default;
};

// Thrown by check() and fail() in final checks, which run outside fibers,
// and caught by Engine::run.
struct FinalCheckFailed {};

enum class OpKind : std::uint8_t { load, store, compare_exchange, modify, futex_wait, futex_wake, futex_return, clock, signal };

struct PendingOp {
  OpKind kind = OpKind::load;
  std::memory_order order = std::memory_order_seq_cst;
  std::uint32_t location = 0;  // an atomic; for signal, the target thread
  std::uint32_t extra = 0;     // signal: the exited flag's location
};

enum class ThreadStatus : std::uint8_t { runnable, blocked, finished, abandoned };

struct RawStep {
  std::int8_t thread;
  std::uint8_t kind;  // OpKind, or a note
  std::memory_order order;
  std::int32_t location;
  Value before;
  Value after;
  std::uint32_t detail;
};

struct Request {
  std::uint32_t serial;
  std::int8_t thread;
};

// A WaitState that some thread attached in this execution.
struct RecordInfo {
  int owner = -1;
  std::uint32_t word = 0;
  std::uint32_t exited = 0;
  bool detached = false;
  bool released = false;
  void* block = nullptr;  // the SharedBlock, whose first member is the word
  std::array<Request, 16> requests{};
  std::uint32_t request_count = 0;
};

struct Stack {
  void* memory = nullptr;
  std::size_t size = 0;
};

struct ThreadSlot {
  const char* name = "";
  void (*run)(void*) = nullptr;
  void* body = nullptr;
  ThreadStatus status = ThreadStatus::runnable;
  PendingOp op;
  // While blocked.
  bool spinning = false;  // in guest code that only a platform interrupt ends
  std::uint32_t block_location = 0;
  bool timed = false;
  std::int64_t deadline = 0;
  std::uint32_t block_order = 0;
  BlockResult wake_result = BlockResult::woken;
  // Platform interrupts.
  std::uint32_t signals_queued = 0;
  engine::View signal_view;  // what the senders of queued signals had seen
  SignalCounts signals;
  int record = -1;
  // An interrupt() in progress: its record and the message it read or wrote.
  int requesting = -1;
  std::int64_t request_serial = -1;

  boost::context::fiber fiber;
  boost::context::fiber scheduler;
  void* fake_stack = nullptr;
};

class Engine final : private engine::ValueChooser {
 public:
  Engine();
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  struct Settings {
    std::uint32_t step_bound = 1000;
    std::uint32_t spurious_wakeups = 1;
    bool record = false;
  };

  // Runs one execution and returns whether it failed; failure() describes it.
  bool run(const Scenario& scenario, Strategy& strategy, const Settings& settings);

  const Failure& failure() const { return failure_; }
  const std::vector<std::uint32_t>& choices() const { return choices_; }
  std::uint32_t preemptions() const { return preemptions_; }
  std::uint32_t steps() const { return steps_; }
  std::uint32_t thread_count() const { return static_cast<std::uint32_t>(thread_count_); }
  const std::vector<RawStep>& raw_steps() const { return raw_steps_; }
  std::string thread_name(int thread) const;
  std::string location_name(std::int32_t location) const;
  std::string describe_value(std::int32_t location, Value value) const;
  bool is_state_word(std::int32_t location) const;

  static Engine& active();
  static Engine* active_or_null();

  // Called by the model platform and runtime functions.
  bool in_thread() const { return current_ >= 0; }
  Value op_load(std::uint32_t location, std::memory_order order);
  void op_store(std::uint32_t location, Value value, std::memory_order order);
  bool op_compare_exchange(std::uint32_t location, Value& expected, Value desired, std::memory_order success,
                           std::memory_order failure);
  Value op_modify(std::uint32_t location, Modify modify, Value operand, std::memory_order order);
  std::uint32_t create_location(Value initial, Value mask);
  BlockResult futex_wait(std::uint32_t location, std::uint32_t expected, bool timed, std::int64_t deadline);
  void futex_wake(std::uint32_t location);
  std::int64_t now();
  void attach(ModelPlatform::ThreadRecord& record, ModelPlatform::Word& word);
  void detach(ModelPlatform::ThreadRecord& record);
  void release(ModelPlatform::ThreadRecord& record);
  bool send_signal(ModelPlatform::ThreadRecord& record);
  void trace(TracePoint point, const ModelPlatform::ThreadRecord& record, std::uint32_t value);
  // Fails the execution with prefix + message and abandons the calling
  // thread. Takes views because the caller's frames are never unwound, so
  // a std::string made for the call would never be freed.
  [[noreturn]] void fail_thread(FailureKind kind, std::string_view prefix, std::string_view message = {});
  void fail_outside_thread(FailureKind kind, std::string message);
  bool guest_poll();
  void spin_until_signal();
  SignalCounts signal_counts() const;

  // Setup's storage.
  void* allocate(std::size_t size, std::size_t alignment);
  void on_destroy(void* object, void (*destroy)(void*));
  void add_thread(std::string_view name, void (*entry)(void*), void* body);
  void add_final(void (*entry)(void*), void* body);

 private:
  std::uint32_t choose(std::uint32_t count) override;

  void reset(const Settings& settings);
  void start_threads();
  void schedule_loop();
  // Picks the next step at a scheduling point: -1 when the execution ends
  // there (deadlock, step bound, nothing left), else the thread.
  int decide();
  bool compute_point(SchedulePoint& point) const;
  AccessSet access_of(std::size_t thread) const;
  void step(std::size_t thread);
  void unblock(std::size_t thread);
  void deliver_signal(std::size_t thread);
  void report_deadlock();
  void check_liveness();
  void finalize_request(ThreadSlot& slot);
  void note_request_access(ThreadSlot& slot, std::uint32_t location, std::uint32_t serial, bool wrote);
  void teardown();
  void check_memory();

  // Fiber switching.
  void create_fiber(std::size_t thread);
  void resume(std::size_t thread);
  void suspend_current();
  [[noreturn]] void abandon_current();
  void yield_for(const PendingOp& op);

  void record_step(OpKind kind, std::memory_order order, std::int32_t location, Value before, Value after,
                   std::uint32_t detail = 0);

  std::array<ThreadSlot, max_threads> threads_;
  std::array<Stack, max_threads> stacks_;
  struct ParkedFiber {
    alignas(boost::context::fiber) unsigned char bytes[sizeof(boost::context::fiber)];
  };
  std::array<ParkedFiber, max_threads> abandoned_;
  std::size_t thread_count_ = 0;
  int current_ = -1;
  int last_thread_ = -1;
  engine::Memory memory_;
  std::int64_t clock_ = 0;
  std::uint32_t spurious_left_ = 0;
  std::uint32_t steps_ = 0;
  std::uint32_t preemptions_ = 0;
  std::uint32_t block_counter_ = 0;
  Settings settings_;
  Strategy* strategy_ = nullptr;
  SchedulePoint point_;
  bool started_ = false;   // every thread has run its setup prefix
  int decided_ = -1;       // a step that a thread decided before yielding
  bool failed_ = false;
  bool any_abandoned_ = false;
  Failure failure_;
  std::vector<std::uint32_t> choices_;
  std::vector<RawStep> raw_steps_;

  std::array<RecordInfo, 16> records_;
  std::size_t record_count_ = 0;

  // Storage of Setup::make, reset after each execution.
  std::vector<unsigned char> arena_;
  std::size_t arena_used_ = 0;
  struct Destructor {
    void* object;
    void (*destroy)(void*);
  };
  std::vector<Destructor> destructors_;
  struct Final {
    void (*run)(void*);
    void* body;
  };
  std::vector<Final> finals_;

  void* scheduler_stack_bottom_ = nullptr;
  std::size_t scheduler_stack_size_ = 0;
};

}  // namespace intr::harness::runtime
