// The lifetime guard of the tgkill() fallback: a thread that destroys its
// WaitState marks itself exited at once, then waits until every interrupter
// that was already inside tgkill() has left, so that its thread id cannot be
// reused under them. The test plays such an interrupter by holding the
// guard count of LinuxPlatform::ThreadRecord itself.
#include "test_support.hpp"

#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <climits>
#include <future>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

// While an interrupter holds the guard, ~WaitState() blocks after setting
// the exited bit; releasing the guard as interrupt_thread() does lets it
// finish. A handle used meanwhile reports thread_exited and sends nothing.
TEST_CASE("exiting thread waits for interrupters in tgkill", "[thread-exit]") {
  std::promise<intr::ThreadHandle<>> published;
  auto handle_future = published.get_future();
  std::atomic<bool> destroy{false};
  std::atomic<bool> destroyed{false};
  std::atomic<pid_t> tid{0};

  intr_test::Watchdog watchdog(std::chrono::seconds(30), "the exit guard test");
  std::thread owner([&] {
    tid.store(gettid());
    {
      intr::WaitState<> state;
      published.set_value(state.thread_handle());
      destroy.wait(false);
    }
    destroyed.store(true);
  });
  intr::ThreadHandle<> handle = handle_future.get();
  // SAFETY: the record lives in the shared block, which `handle` keeps
  // alive; the platform itself changes the guard through the same atomic.
  auto& guard = const_cast<intr::LinuxPlatform::ThreadRecord&>(handle.record()).guard;

  guard.fetch_add(1);  // an interrupter enters tgkill()
  destroy.store(true);
  destroy.notify_one();

  CHECK(intr_test::eventually([&] { return handle.exited(); }));
  CHECK(intr_test::eventually_sleeping(tid.load()));
  CHECK_FALSE(destroyed.load());
  CHECK(handle.interrupt() == intr::InterruptResult::thread_exited);

  // The interrupter leaves tgkill(): the last one out wakes the thread.
  std::uint32_t after = guard.fetch_sub(1) - 1;
  CHECK(after == intr::LinuxPlatform::exited_bit);
  syscall(SYS_futex, &guard, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  owner.join();
  CHECK(destroyed.load());
}
