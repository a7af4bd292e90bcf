// Handles to exited threads, under thread churn. Built twice: once with
// thread pidfds where the kernel has them, and once with
// INTR_TEST_FORCE_TGKILL, which switches the whole process to the tgkill()
// fallback and its lifetime guard.
//
// Creator threads start and join 10,000 short-lived threads. Each creates a
// WaitState, publishes its handle, maybe runs a short guest, and exits.
// Interrupter threads meanwhile interrupt random handles, most of them
// stale. No thread may receive a signal that was not sent to it: a thread
// that never entered guest code receives none, and no thread receives more
// than the interrupts that reported interrupted_guest for it. A reused
// thread id would break both.
#include "test_support.hpp"

#include <intr/intr.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <dirent.h>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// What one short-lived thread did, and what was done to it.
struct ThreadRecord {
  std::optional<intr::ThreadHandle<>> handle;
  std::optional<intr::Waker<>> waker;
  bool entered_guest = false;
  std::uint64_t signals_received = 0;
  std::atomic<long> signals_sent{0};  // interrupt() calls that returned interrupted_guest
};

// The most recent records, shared with the interrupters.
class RecentThreads {
 public:
  void publish(const std::shared_ptr<ThreadRecord>& record, std::size_t slot) {
    std::lock_guard lock(mutex_);
    slots_[slot % slots_.size()] = record;
  }
  std::shared_ptr<ThreadRecord> pick(std::size_t slot) {
    std::lock_guard lock(mutex_);
    return slots_[slot % slots_.size()];
  }

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<ThreadRecord>> slots_ = std::vector<std::shared_ptr<ThreadRecord>>(64);
};

// The body of one short-lived thread.
void short_lived_thread(const std::shared_ptr<ThreadRecord>& record, RecentThreads& recent, std::size_t slot,
                        bool run_guest) {
  {
    intr::WaitState<> state;
    record->handle.emplace(state.thread_handle());
    record->waker.emplace(state.waker());
    recent.publish(record, slot);
    if (run_guest && state.prepare_to_run_guest() == intr::GuestEntry::entered) {
      record->entered_guest = true;
      for (int spin = 0; spin < 2000 && !intr::this_thread::interrupt_requested(); ++spin) {
        std::this_thread::yield();
      }
      state.finish_running_guest();
    }
  }
  record->signals_received = intr::this_thread::interrupt_signals_received();
}

long count_open_fds() {
  long count = 0;
  if (DIR* directory = opendir("/proc/self/fd")) {
    while (readdir(directory) != nullptr) ++count;
    closedir(directory);
  }
  return count;
}

struct ChurnResult {
  std::vector<std::shared_ptr<ThreadRecord>> records;
  long handle_exited_after_join = 0;
  long waker_exited_after_join = 0;
  long interrupts = 0;
  long interrupts_of_exited = 0;
};

ChurnResult churn(long thread_count) {
  ChurnResult result;
  result.records.resize(static_cast<std::size_t>(thread_count));
  RecentThreads recent;
  std::atomic<bool> stop{false};
  std::atomic<long> interrupts{0};
  std::atomic<long> interrupts_of_exited{0};

  auto interrupter = [&](unsigned seed) {
    std::mt19937 random(seed);
    while (!stop.load()) {
      std::shared_ptr<ThreadRecord> record = recent.pick(random());
      if (!record) continue;
      intr::InterruptResult outcome = record->handle->interrupt();
      if (outcome == intr::InterruptResult::interrupted_guest) ++record->signals_sent;
      if (outcome == intr::InterruptResult::thread_exited) ++interrupts_of_exited;
      ++interrupts;
      std::this_thread::yield();
    }
  };
  std::vector<std::thread> interrupters;
  for (unsigned seed = 1; seed <= 2; ++seed) interrupters.emplace_back(interrupter, seed);

  constexpr long creators = 2;
  std::atomic<long> handle_exited{0};
  std::atomic<long> waker_exited{0};
  auto creator = [&](long first) {
    for (long index = first; index < thread_count; index += creators) {
      auto record = std::make_shared<ThreadRecord>();
      result.records[static_cast<std::size_t>(index)] = record;
      std::thread thread(short_lived_thread, record, std::ref(recent), static_cast<std::size_t>(index), index % 2 == 0);
      thread.join();
      // The thread is gone, so its handle and waker return thread_exited.
      if (record->handle->interrupt() == intr::InterruptResult::thread_exited) ++handle_exited;
      if (record->waker->wake() == intr::WakeResult::thread_exited) ++waker_exited;
      record->waker.reset();
    }
  };
  std::vector<std::thread> creator_threads;
  for (long first = 0; first < creators; ++first) creator_threads.emplace_back(creator, first);
  for (std::thread& thread : creator_threads) thread.join();
  stop.store(true);
  for (std::thread& thread : interrupters) thread.join();

  result.handle_exited_after_join = handle_exited.load();
  result.waker_exited_after_join = waker_exited.load();
  result.interrupts = interrupts.load();
  result.interrupts_of_exited = interrupts_of_exited.load();
  return result;
}

}  // namespace

// Signals reach only the thread they were sent to, stale handles report
// thread_exited, and handles release their pidfds.
TEST_CASE("thread churn never misdirects a signal", "[thread-exit]") {
#ifdef INTR_TEST_FORCE_TGKILL
  intr::linux_signal::disable_thread_pidfd_for_testing();
  REQUIRE_FALSE(intr::linux_signal::has_thread_pidfd());
  const char* addressing = "tgkill with the lifetime guard";
#else
  const char* addressing = intr::linux_signal::has_thread_pidfd() ? "thread pidfds" : "tgkill (no thread pidfds)";
#endif
  intr::linux_signal::ensure_installed();
  const long thread_count = intr_test::scaled(10'000, 2'000);
  long fds_before = count_open_fds();

  intr_test::Watchdog watchdog(120s, "the thread churn");
  ChurnResult result = churn(thread_count);
  watchdog.disarm();

  long guest_threads = 0;
  long host_threads_with_signals = 0;
  long threads_with_extra_signals = 0;
  long signals_sent = 0;
  std::uint64_t signals_received = 0;
  for (const auto& record : result.records) {
    if (record->entered_guest) ++guest_threads;
    if (!record->entered_guest && record->signals_received != 0) ++host_threads_with_signals;
    if (record->signals_received > static_cast<std::uint64_t>(record->signals_sent.load())) {
      ++threads_with_extra_signals;
    }
    signals_sent += record->signals_sent.load();
    signals_received += record->signals_received;
  }
  std::printf("%s: %ld threads (%ld ran a guest), %ld interrupts (%ld of exited threads), %ld signals sent, "
              "%llu received before exit\n",
              addressing, thread_count, guest_threads, result.interrupts, result.interrupts_of_exited, signals_sent,
              static_cast<unsigned long long>(signals_received));

  CHECK(host_threads_with_signals == 0);
  CHECK(threads_with_extra_signals == 0);
  CHECK(result.handle_exited_after_join == thread_count);
  CHECK(result.waker_exited_after_join == thread_count);
  CHECK(guest_threads > 0);
  CHECK(signals_sent > 0);
  CHECK(result.interrupts_of_exited > 0);

  result.records.clear();
  CHECK(count_open_fds() == fds_before);
}
