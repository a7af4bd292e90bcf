// Futex waits on the state word with absolute CLOCK_MONOTONIC deadlines.
//
// FUTEX_WAIT_BITSET takes an absolute time, so a wait that a signal or a
// spurious wake-up interrupts resumes against the same deadline: nothing
// stretches or shortens it.
#include <intr/linux/platform.hpp>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace intr {
namespace {

long futex(void* address, int operation, std::uint32_t value, const timespec* timeout, std::uint32_t bitset) {
  return syscall(SYS_futex, address, operation, value, timeout, nullptr, bitset);
}

[[noreturn]] void futex_failed(const char* operation, int error) {
  std::fprintf(stderr, "intr: %s failed: %s (errno %d)\n", operation, std::strerror(error), error);
  std::abort();
}

// Sorts a futex wait's outcome: a wake-up, a changed word (EAGAIN) and a
// signal (EINTR) all make the caller re-read the word; ETIMEDOUT ends the
// wait; anything else means the word's address is broken.
BlockResult sort_wait_result(long result, const char* operation) {
  if (result == 0) return BlockResult::woken;
  int error = errno;
  if (error == EAGAIN || error == EINTR) return BlockResult::woken;
  if (error == ETIMEDOUT) return BlockResult::timed_out;
  futex_failed(operation, error);
}

}  // namespace

void LinuxPlatform::block(Word& word, std::uint32_t expected) {
  long result = futex(&word, FUTEX_WAIT_PRIVATE, expected, nullptr, 0);
  sort_wait_result(result, "FUTEX_WAIT");
}

BlockResult LinuxPlatform::block_until(Word& word, std::uint32_t expected, Instant deadline) {
  auto since_boot = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  if (since_boot < 0) return BlockResult::timed_out;
  timespec absolute{};
  absolute.tv_sec = static_cast<time_t>(since_boot / 1'000'000'000);
  absolute.tv_nsec = static_cast<long>(since_boot % 1'000'000'000);
  // Without FUTEX_CLOCK_REALTIME the bitset wait measures CLOCK_MONOTONIC,
  // the clock behind std::chrono::steady_clock in libstdc++ and libc++.
  long result = futex(&word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, &absolute, FUTEX_BITSET_MATCH_ANY);
  return sort_wait_result(result, "FUTEX_WAIT_BITSET");
}

void LinuxPlatform::wake_one(Word& word) {
  if (futex(&word, FUTEX_WAKE_PRIVATE, 1, nullptr, 0) < 0) futex_failed("FUTEX_WAKE", errno);
}

}  // namespace intr
