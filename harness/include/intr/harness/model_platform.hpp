// The model platform: the platform that the model checker instantiates the
// real core with (intr::WaitState<ModelPlatform> and friends).
//
// Every operation that another thread can observe is a scheduling point: the
// loads, stores and read-modify-writes of a harness::Atomic (the state word is
// one), the futex calls block/block_until/wake_one, reading the virtual clock,
// and sending a platform interrupt. At each one the explorer decides which
// logical thread runs next, and for a load which of the stores that the C++
// memory model lets it see it reads (see memory.hpp in harness/src).
//
// Time is virtual: now() starts at zero and moves only when a timed block
// times out, which the explorer may choose at any moment while the thread is
// blocked and must choose when every thread is blocked. Spurious futex
// wake-ups are choices too, limited by a budget per execution. A platform
// interrupt is queued for its target and delivered at any later scheduling
// point of that thread that the explorer picks, also after the guest run it
// was sent for has ended.
//
// Model atomics and the model platform work only inside an execution that
// the explorer runs (harness/explorer.hpp); outside one they report a misuse
// and abort.
#pragma once

#include <intr/model/transitions.hpp>
#include <intr/platform.hpp>

#include <chrono>
#include <cstdint>
#include <type_traits>

namespace intr::detail {
enum class Mutation : std::uint8_t;  // defined in intr/wait_state.hpp
}

namespace intr::harness {

// Operations on model locations, implemented by the engine. Values are
// stored as 64-bit words; Atomic<T> converts.
namespace runtime {

using Value = std::uint64_t;

enum class Modify : std::uint8_t { exchange, add, sub, bit_or, bit_and, bit_xor };

// Creates a location holding `initial` and returns its number.
std::uint32_t create_location(Value initial, Value mask);
Value load(std::uint32_t location, std::memory_order order);
void store(std::uint32_t location, Value value, std::memory_order order);
// Writes `desired` when the value read equals `expected`; otherwise stores
// the value read in `expected`. Never fails spuriously.
bool compare_exchange(std::uint32_t location, Value& expected, Value desired, std::memory_order success,
                      std::memory_order failure);
// Applies `modify` with `operand` atomically and returns the value before.
Value fetch_modify(std::uint32_t location, Modify modify, Value operand, std::memory_order order);

}  // namespace runtime

// An atomic variable of the model: a std::atomic look-alike whose every
// operation is a scheduling point. Scenarios use it for the flags and data
// that their threads share. T is an integral or enumeration type of at most
// 8 bytes. compare_exchange_weak never fails spuriously in the model.
template <class T>
  requires(std::is_integral_v<T> || std::is_enum_v<T>) && (sizeof(T) <= 8)
class Atomic {
 public:
  Atomic() : Atomic(T{}) {}
  Atomic(T initial) : location_(runtime::create_location(to_value(initial), mask)) {}  // NOLINT: as std::atomic
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  T load(std::memory_order order = std::memory_order_seq_cst) const {
    return from_value(runtime::load(location_, order));
  }
  void store(T value, std::memory_order order = std::memory_order_seq_cst) {
    runtime::store(location_, to_value(value), order);
  }
  T exchange(T value, std::memory_order order = std::memory_order_seq_cst) {
    return from_value(runtime::fetch_modify(location_, runtime::Modify::exchange, to_value(value), order));
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success, std::memory_order failure) {
    runtime::Value seen = to_value(expected);
    bool exchanged = runtime::compare_exchange(location_, seen, to_value(desired), success, failure);
    expected = from_value(seen);
    return exchanged;
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order order = std::memory_order_seq_cst) {
    return compare_exchange_strong(expected, desired, order, failure_for(order));
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success, std::memory_order failure) {
    return compare_exchange_strong(expected, desired, success, failure);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order order = std::memory_order_seq_cst) {
    return compare_exchange_strong(expected, desired, order, failure_for(order));
  }
  T fetch_add(T operand, std::memory_order order = std::memory_order_seq_cst)
    requires std::is_integral_v<T>
  {
    return from_value(runtime::fetch_modify(location_, runtime::Modify::add, to_value(operand), order));
  }
  T fetch_sub(T operand, std::memory_order order = std::memory_order_seq_cst)
    requires std::is_integral_v<T>
  {
    return from_value(runtime::fetch_modify(location_, runtime::Modify::sub, to_value(operand), order));
  }
  T fetch_or(T operand, std::memory_order order = std::memory_order_seq_cst)
    requires std::is_integral_v<T>
  {
    return from_value(runtime::fetch_modify(location_, runtime::Modify::bit_or, to_value(operand), order));
  }
  T fetch_and(T operand, std::memory_order order = std::memory_order_seq_cst)
    requires std::is_integral_v<T>
  {
    return from_value(runtime::fetch_modify(location_, runtime::Modify::bit_and, to_value(operand), order));
  }

  // The number of this location in the current execution.
  std::uint32_t location() const noexcept { return location_; }

 private:
  static constexpr runtime::Value mask =
      sizeof(T) == 8 ? ~runtime::Value{0} : (runtime::Value{1} << (8 * sizeof(T))) - 1;

  static runtime::Value to_value(T value) {
    if constexpr (std::is_enum_v<T>) {
      return static_cast<runtime::Value>(static_cast<std::underlying_type_t<T>>(value)) & mask;
    } else {
      return static_cast<runtime::Value>(value) & mask;
    }
  }
  static T from_value(runtime::Value value) {
    if constexpr (std::is_enum_v<T>) {
      return static_cast<T>(static_cast<std::underlying_type_t<T>>(value));
    } else {
      return static_cast<T>(value);
    }
  }
  static constexpr std::memory_order failure_for(std::memory_order order) {
    if (order == std::memory_order_acq_rel) return std::memory_order_acquire;
    if (order == std::memory_order_release) return std::memory_order_relaxed;
    return order;
  }

  std::uint32_t location_;
};

// The virtual clock. It starts at zero in every execution.
struct ModelClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<ModelClock>;
  static constexpr bool is_steady = true;
  static time_point now();
};

struct ModelPlatform {
  using Word = Atomic<std::uint32_t>;
  using Instant = ModelClock::time_point;
  using Duration = std::chrono::nanoseconds;

  // The harness's record of a WaitState: which logical thread owns it, and
  // a model flag that detach_thread sets.
  struct ThreadRecord {
    std::int32_t index = -1;  // into the engine's table of records
    Atomic<std::uint32_t> exited{0};
  };

  static void block(Word& word, std::uint32_t expected);
  static BlockResult block_until(Word& word, std::uint32_t expected, Instant deadline);
  static void wake_one(Word& word);
  static Instant now() { return ModelClock::now(); }

  static void attach_thread(ThreadRecord& record, Word& word, GuestDelivery delivery);
  static void detach_thread(ThreadRecord& record);
  static void release_thread(ThreadRecord& record);
  static bool interrupt_thread(ThreadRecord& record);
  static bool has_exited(const ThreadRecord& record);
  static void trace(TracePoint point, const ThreadRecord& record, std::uint32_t value);
  // Reports the violation to the explorer as a failure of the execution and
  // abandons the calling logical thread; never returns.
  [[noreturn]] static void contract_violation(const char* message);

  // The table of the active table mutant, or the correct one.
  static model::Transition transition(model::State state, model::Event event);
  // Whether a code mutant of the core is switched on.
  static bool mutated(detail::Mutation mutation);
};

static_assert(Platform<ModelPlatform>);

}  // namespace intr::harness
