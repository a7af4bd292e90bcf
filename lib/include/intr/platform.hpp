// The seams between the platform-independent core and the operating system.
//
// The core (wait_state.hpp) is a template over a platform type P. A platform
// supplies three things: a 32-bit atomic word with futex-style blocking, a
// monotonic clock, and a per-thread record that can deliver a platform
// interrupt to the thread that owns it. Linux, Windows and the harness's
// model platform each satisfy these concepts; `intr::NativePlatform` names
// the one for the build target.
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>

namespace intr {

// The outcome of a blocking call on the state word. `woken` covers every return
// that is not a timeout: a wake-up, a changed word, a signal or a spurious
// return. The caller re-reads the word in every case.
enum class BlockResult : std::uint8_t { woken, timed_out };

// The way an interrupt reaches a thread that runs guest code.
enum class GuestDelivery : std::uint8_t {
  signal,   // a platform interrupt (signal, thread suspension) is sent
  polling,  // nothing is sent; the guest polls its state word
};

// Points on the interrupt path that a platform may expose to tracers.
enum class TracePoint : std::uint8_t {
  interrupt_requested,  // ThreadHandle::interrupt() was called
  wait_woken,           // a futex wake is about to be issued for a waiter
  wait_started,         // the owning thread entered a wait
  wait_ended,           // the owning thread left a wait; the value is the result
  guest_returned,       // the owning thread finished a guest run
};

// An atomic 32-bit word. The core uses only these operations on it.
template <class W>
concept AtomicWord = requires(W& word, const W& cword, std::uint32_t& expected, std::uint32_t value,
                              std::memory_order order) {
  { cword.load(order) } -> std::same_as<std::uint32_t>;
  { word.compare_exchange_weak(expected, value, order, order) } -> std::same_as<bool>;
};

// Raw sync primitives: a futex-style wait on a word and its wake.
template <class P>
concept SyncPrimitives = AtomicWord<typename P::Word> &&
    requires(typename P::Word& word, std::uint32_t expected, typename P::Instant deadline) {
      { P::block(word, expected) } -> std::same_as<void>;
      { P::block_until(word, expected, deadline) } -> std::same_as<BlockResult>;
      { P::wake_one(word) } -> std::same_as<void>;
    };

// A monotonic clock.
template <class P>
concept TimeProvider = requires {
  typename P::Instant;
  typename P::Duration;
  { P::now() } -> std::same_as<typename P::Instant>;
} && std::same_as<typename P::Duration, std::chrono::nanoseconds>;

// Per-thread records and platform interrupts. `attach_thread` runs on the
// owning thread when its WaitState is created and `detach_thread` when it is
// destroyed; `interrupt_thread` may run on any thread and returns false when
// the owner has already detached. `release_thread` runs once, when the last
// handle to the record is gone.
template <class P>
concept ThreadProvider = requires(typename P::ThreadRecord& record, const typename P::ThreadRecord& crecord,
                                  typename P::Word& word, GuestDelivery delivery, TracePoint point,
                                  std::uint32_t value, const char* message) {
  { P::attach_thread(record, word, delivery) } -> std::same_as<void>;
  { P::detach_thread(record) } -> std::same_as<void>;
  { P::release_thread(record) } -> std::same_as<void>;
  { P::interrupt_thread(record) } -> std::same_as<bool>;
  { P::has_exited(crecord) } -> std::same_as<bool>;
  { P::trace(point, crecord, value) } -> std::same_as<void>;
  { P::contract_violation(message) } -> std::same_as<void>;
};

template <class P>
concept Platform = SyncPrimitives<P> && TimeProvider<P> && ThreadProvider<P>;

}  // namespace intr
