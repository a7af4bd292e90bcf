// The memory model of the harness: which store a load may read under the
// C++ memory model, for the orderings relaxed, acquire, release, acq_rel and
// seq_cst.
//
// It is an operational "view" model in the style of the promising semantics
// without promises:
//  - Each location keeps its stores (messages) in modification order.
//  - Each thread keeps a view: for every location, the position of the
//    latest message it has seen or that happens-before it. A load may read
//    any message at or after that position (the explorer picks which), and
//    then the thread's view of the location moves to the message read
//    (coherence of reads).
//  - A release store (or release RMW) carries its thread's view; an acquire
//    load that reads it joins that view into the reader's (synchronisation).
//    An RMW continues the release sequence of the message it reads.
//  - A relaxed or release store may be placed anywhere after its thread's
//    view of the location, except between an RMW and the message it read,
//    which gives outcomes such as 2+2W.
//  - seq_cst: a global SC view. A seq_cst store or RMW joins its thread's
//    view into it after writing. A seq_cst load or RMW joins it into its
//    thread's view before reading. A seq_cst store goes to the end of the
//    modification order.
//  - An RMW reads the last message of the location and appends after it.
//
// Not modelled: load buffering (a load reading a store that is later in its
// thread's program order needs promises), fences, consume (treated as
// acquire), spurious failure of compare_exchange_weak, and RMWs that read a
// message other than the last. The futex reads the last message, like a
// relaxed load that the kernel makes see the newest value.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace intr::harness::engine {

inline constexpr std::size_t max_locations = 32;
inline constexpr std::size_t max_messages = 128;
inline constexpr std::size_t max_threads = 6;

using Value = std::uint64_t;

// Positions in modification order, one per location.
struct View {
  std::array<std::uint16_t, max_locations> position{};

  void join(const View& other, std::size_t locations) {
    for (std::size_t i = 0; i < locations; ++i) {
      if (other.position[i] > position[i]) position[i] = other.position[i];
    }
  }
};

struct Message {
  Value value = 0;
  std::uint32_t serial = 0;      // unique in the execution, for reports
  std::int8_t thread = -1;       // the writer; -1 for the initial value
  bool has_view = false;         // a release store or an RMW in a release sequence
  bool read_by_rmw = false;      // the next message is an RMW that read this one
  bool rmw = false;              // written by a read-modify-write
  View view;
};

struct Location {
  std::uint16_t count = 0;
  Value mask = ~Value{0};
  std::array<Message, max_messages> messages;
};

// Why an operation could not run: the scenario exceeded a fixed capacity.
enum class MemoryError : std::uint8_t { none, too_many_locations, too_many_messages };

// Picks one of `count` alternatives; alternative 0 is the newest message or
// the end of modification order.
class ValueChooser {
 public:
  virtual std::uint32_t choose(std::uint32_t count) = 0;

 protected:
  ~ValueChooser() = default;
};

// The result of a load or RMW: the value and the message read.
struct Read {
  Value value;
  std::uint32_t serial;
};

class Memory {
 public:
  void reset();

  // Returns the new location's number, or -1 when all are in use.
  int create(Value initial, Value mask);

  Read load(std::size_t thread, std::uint32_t location, std::memory_order order, ValueChooser& chooser);
  // Returns the serial of the message written.
  std::uint32_t store(std::size_t thread, std::uint32_t location, Value value, std::memory_order order,
                      ValueChooser& chooser);
  // A compare-and-swap that sets `exchanged` when it wrote.
  Read compare_exchange(std::size_t thread, std::uint32_t location, Value expected, Value desired,
                        std::memory_order success, std::memory_order failure, ValueChooser& chooser,
                        bool& exchanged);
  // A read-modify-write that always writes `modify(old)`.
  template <class F>
  Read modify(std::size_t thread, std::uint32_t location, std::memory_order order, F&& modify) {
    Read read = read_last(thread, location, order);
    append_rmw(thread, location, modify(read.value) & locations_[location].mask, order);
    return read;
  }

  // The last message in modification order: what the futex reads, and what
  // code outside any logical thread (setup, final checks) reads.
  Value latest(std::uint32_t location) const {
    const Location& loc = locations_[location];
    return loc.messages[loc.count - 1].value;
  }
  void store_outside_threads(std::uint32_t location, Value value);
  // The futex reads the last message as an atomic load would, so by
  // coherence the thread never reads an older one afterwards.
  Value read_latest_relaxed(std::size_t thread, std::uint32_t location) {
    const Location& loc = locations_[location];
    views_[thread].position[location] = static_cast<std::uint16_t>(loc.count - 1);
    return loc.messages[loc.count - 1].value;
  }

  const Location& location(std::uint32_t index) const { return locations_[index]; }
  // A thread's whole view, and joining one into it: the kernel orders a
  // signal's sending before its handler, as a release and an acquire would.
  const View& view(std::size_t thread) const { return views_[thread]; }
  void acquire_view(std::size_t thread, const View& view) { views_[thread].join(view, count_); }
  std::size_t location_count() const { return count_; }
  MemoryError error() const { return error_; }

 private:
  Read read_last(std::size_t thread, std::uint32_t location, std::memory_order order);
  void append_rmw(std::size_t thread, std::uint32_t location, Value value, std::memory_order order);
  void acquire_sc(std::size_t thread, std::memory_order order);
  void release_sc(std::size_t thread, std::memory_order order);
  std::uint16_t choose_store_position(std::size_t thread, std::uint32_t location, std::memory_order order,
                                      ValueChooser& chooser);
  bool insert(std::uint32_t location, std::uint16_t position, const Message& message);

  std::array<Location, max_locations> locations_;
  std::array<View, max_threads> views_;
  View sc_view_;
  std::size_t count_ = 0;
  std::uint32_t next_serial_ = 0;
  MemoryError error_ = MemoryError::none;
};

constexpr bool is_acquire(std::memory_order order) {
  return order == std::memory_order_acquire || order == std::memory_order_acq_rel ||
         order == std::memory_order_seq_cst || order == std::memory_order_consume;
}
constexpr bool is_release(std::memory_order order) {
  return order == std::memory_order_release || order == std::memory_order_acq_rel ||
         order == std::memory_order_seq_cst;
}

}  // namespace intr::harness::engine
