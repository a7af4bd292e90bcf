// Once a WaitState exists, nothing on the interrupt path allocates: waits,
// wake-ups, interrupts (including the signal and its handler), takes, and
// guest entry and exit. This program replaces the global operator new and
// operator delete with versions that count calls while a window is open.
#include "thread_helpers.hpp"
#include "test_support.hpp"

#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

void* allocate(std::size_t size, std::size_t alignment) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  if (alignment <= alignof(std::max_align_t)) return std::malloc(size);
  // aligned_alloc() needs a size that is a multiple of the alignment.
  return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}

}  // namespace

// The replacements are not inlined, so that GCC does not pair an inlined
// free() with the `new` expression at the call site and warn about a
// mismatch (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t size) {
  if (void* memory = allocate(size, alignof(std::max_align_t))) return memory;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) { return operator new(size); }
[[gnu::noinline]] void* operator new(std::size_t size, std::align_val_t alignment) {
  if (void* memory = allocate(size, static_cast<std::size_t>(alignment))) return memory;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size, std::align_val_t alignment) {
  return operator new(size, alignment);
}
[[gnu::noinline]] void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return allocate(size, alignof(std::max_align_t));
}
[[gnu::noinline]] void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return allocate(size, alignof(std::max_align_t));
}
[[gnu::noinline]] void* operator new(std::size_t size, std::align_val_t alignment,
                                     const std::nothrow_t&) noexcept {
  return allocate(size, static_cast<std::size_t>(alignment));
}
[[gnu::noinline]] void* operator new[](std::size_t size, std::align_val_t alignment,
                                       const std::nothrow_t&) noexcept {
  return allocate(size, static_cast<std::size_t>(alignment));
}
[[gnu::noinline]] void operator delete(void* memory) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete[](void* memory) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete[](void* memory, std::size_t) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete(void* memory, std::align_val_t) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete[](void* memory, std::align_val_t) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete(void* memory, std::size_t, std::align_val_t) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete[](void* memory, std::size_t, std::align_val_t) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete(void* memory, const std::nothrow_t&) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete[](void* memory, const std::nothrow_t&) noexcept { std::free(memory); }

namespace {

// Counts the allocations that `body` makes on any thread.
template <class Body>
long allocations_during(Body&& body) {
  allocations.store(0);
  counting.store(true);
  body();
  counting.store(false);
  return allocations.load();
}

}  // namespace

// The replacement is in effect. The test calls operator new directly,
// because the compiler may elide the allocation of a new-expression whose
// object is deleted right away.
TEST_CASE("allocation counter counts", "[allocation]") {
  long count = allocations_during([] { ::operator delete(::operator new(sizeof(int))); });
  CHECK(count == 1);
}

// On the owning thread: waits of every outcome, wake, interrupt, take,
// guest entry and exit, and an interrupt signal sent to itself in guest
// code, with its handler.
TEST_CASE("interrupt path does not allocate on one thread", "[allocation]") {
  intr::WaitState<> state;
  auto handle = state.thread_handle();
  auto waker = state.waker();
  long count = allocations_during([&] {
    state.context().wait_until([] { return true; });
    state.context().with_timeout(std::chrono::microseconds(100)).sleep();
    handle.interrupt();
    state.context().with_timeout(std::chrono::seconds(1)).sleep();
    state.take_interrupt();
    waker.wake();
    state.context().wait_until([&] {
      waker.wake();
      handle.interrupt();
      return true;
    });
    state.take_interrupt();
    if (state.prepare_to_run_guest() == intr::GuestEntry::entered) {
      handle.interrupt();  // sends the signal to this thread
      state.finish_running_guest();
    }
    state.take_interrupt();
    state.prepare_to_run_guest([] { return false; });
    auto copy = handle;
    copy.interrupt();
    state.take_interrupt();
  });
  CHECK(count == 0);
}

// Across threads: a waiter blocked in its futex is woken and interrupted,
// and a guest on another thread is interrupted by signal.
TEST_CASE("interrupt path does not allocate across threads", "[allocation]") {
  std::atomic<bool> condition{false};
  std::atomic<bool> in_guest{false};
  std::atomic<int> phase{0};
  intr::WaitResult first = intr::WaitResult::timed_out;
  intr::WaitResult second = intr::WaitResult::timed_out;
  bool guest_interrupted = false;
  intr_test::OwningThread thread([&](intr::WaitState<>& state) {
    phase.wait(0);
    first = state.context().wait_until([&] { return condition.load(); });
    second = state.context().sleep();
    state.take_interrupt();
    if (state.prepare_to_run_guest() == intr::GuestEntry::entered) {
      in_guest.store(true);
      while (!intr::this_thread::interrupt_requested()) {
      }
      guest_interrupted = state.finish_running_guest();
    }
  });
  long count = allocations_during([&] {
    phase.store(1);
    phase.notify_one();
    intr_test::eventually_sleeping(thread.tid());
    condition.store(true);
    thread.waker().wake();
    intr_test::eventually_sleeping(thread.tid());
    thread.handle().interrupt();
    while (!in_guest.load()) {
    }
    thread.handle().interrupt();
    thread.join();
  });
  CHECK(first == intr::WaitResult::ready);
  CHECK(second == intr::WaitResult::interrupted);
  CHECK(guest_interrupted);
  CHECK(count == 0);
}
