// Helpers shared by the core tests: child processes for tests that must
// abort, thread states read from /proc, polling with a deadline, a watchdog,
// and the sanitizer scale of stress loops. Nothing here uses Catch2, so the
// helpers also run inside forked children.
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <poll.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

// True in builds instrumented by AddressSanitizer or ThreadSanitizer, whose
// threads, signals and atomics are several times slower.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define INTR_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define INTR_TEST_SANITIZED 1
#endif
#endif
#ifndef INTR_TEST_SANITIZED
#define INTR_TEST_SANITIZED 0
#endif

#if defined(__SANITIZE_THREAD__)
#define INTR_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define INTR_TEST_TSAN 1
#endif
#endif
#ifndef INTR_TEST_TSAN
#define INTR_TEST_TSAN 0
#endif

namespace intr_test {

// Returns `normal` in an optimised or debug build and `sanitized` in a
// sanitizer build, for loop counts.
constexpr long scaled(long normal, long sanitized) { return INTR_TEST_SANITIZED ? sanitized : normal; }

// Spins for about `iterations` loop turns, for random delays that are shorter
// than any sleep. The fence keeps the compiler from removing the loop.
inline void spin_for(int iterations) {
  for (int i = 0; i < iterations; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
}

// How a child process ended and what it wrote to stderr (and, for
// run_program(), to stdout).
struct ChildResult {
  int status = 0;
  std::string error_output;
  std::string output;

  bool aborted() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT; }
  bool exited_with(int code) const { return WIFEXITED(status) && WEXITSTATUS(status) == code; }
  std::string describe() const {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
    return "ended with wait status " + std::to_string(status);
  }
};

// Reads `fd` until end of file and closes it.
inline std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t count = read(fd, buffer, sizeof buffer);
    if (count > 0) {
      text.append(buffer, static_cast<std::size_t>(count));
    } else if (count == 0 || errno != EINTR) {
      break;
    }
  }
  close(fd);
  return text;
}

inline int wait_for_child(pid_t child) {
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Runs `body` in a forked child whose stderr goes to a pipe, and returns how
// the child ended. A body that returns makes the child exit with status 0.
// The caller must have no other threads that hold locks the body needs.
inline ChildResult run_in_child(const std::function<void()>& body) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) std::abort();
  pid_t child = fork();
  if (child < 0) std::abort();
  if (child == 0) {
    // The test framework's handlers for fatal signals would report a
    // failure from inside the child; the parent judges the child instead.
    for (int fatal : {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTERM}) std::signal(fatal, SIG_DFL);
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    body();
    _exit(0);
  }
  close(pipe_fds[1]);
  ChildResult result;
  result.error_output = read_all(pipe_fds[0]);
  result.status = wait_for_child(child);
  return result;
}

// Reads two pipes until both reach end of file, and closes them.
inline void read_both(int first_fd, std::string& first, int second_fd, std::string& second) {
  pollfd fds[2] = {{first_fd, POLLIN, 0}, {second_fd, POLLIN, 0}};
  std::string* texts[2] = {&first, &second};
  int open_count = 2;
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      ssize_t count = read(fds[i].fd, buffer, sizeof buffer);
      if (count > 0) {
        texts[i]->append(buffer, static_cast<std::size_t>(count));
      } else if (count == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
}

// Runs `program` with `arguments`, the current environment plus
// `extra_environment` ("NAME=value" entries), and returns how it ended, its
// stdout and its stderr.
inline ChildResult run_program(const std::string& program, const std::vector<std::string>& arguments,
                               const std::vector<std::string>& extra_environment = {}) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const std::string& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);

  std::vector<std::string> environment_text;
  for (char** entry = environ; *entry != nullptr; ++entry) environment_text.emplace_back(*entry);
  for (const std::string& entry : extra_environment) environment_text.push_back(entry);
  std::vector<char*> envp;
  for (std::string& entry : environment_text) envp.push_back(entry.data());
  envp.push_back(nullptr);

  int error_pipe[2];
  int output_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0 || pipe2(output_pipe, O_CLOEXEC) != 0) std::abort();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, error_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output_pipe[1], STDOUT_FILENO);
  pid_t child = 0;
  int error = posix_spawn(&child, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(error_pipe[1]);
  close(output_pipe[1]);
  ChildResult result;
  if (error != 0) {
    close(error_pipe[0]);
    close(output_pipe[0]);
    result.status = -1;
    result.error_output = "posix_spawn(" + program + ") failed: " + std::strerror(error);
    return result;
  }
  read_both(error_pipe[0], result.error_output, output_pipe[0], result.output);
  result.status = wait_for_child(child);
  return result;
}

// The scheduler state letter of thread `tid` of this process ('R', 'S', ...),
// or '?' when it cannot be read. Does not allocate, so that the allocation
// test may call it.
inline char thread_run_state(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return '?';
  char text[512];
  ssize_t length = read(fd, text, sizeof text - 1);
  close(fd);
  if (length <= 0) return '?';
  text[length] = '\0';
  // The command name in brackets may contain spaces; the state follows the
  // last closing bracket and a space.
  const char* bracket = std::strrchr(text, ')');
  if (bracket == nullptr || bracket + 2 >= text + length) return '?';
  return bracket[2];
}

// Polls `condition` until it returns true or `timeout` passes; returns its
// last value.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

// Waits until thread `tid` sleeps in the kernel (a futex, a read), so that
// the next wake-up or signal reaches a blocked thread. Returns false after
// `timeout`.
inline bool eventually_sleeping(pid_t tid, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return eventually([tid] { return thread_run_state(tid) == 'S'; }, timeout);
}

// Aborts the process with `what` on stderr unless disarmed within `limit`,
// so that a lost wake-up fails the test instead of hanging it.
class Watchdog {
 public:
  // `report`, when given, prints the test's state before the abort.
  Watchdog(std::chrono::milliseconds limit, std::string what, std::function<void()> report = {})
      : what_(std::move(what)), report_(std::move(report)) {
    thread_ = std::thread([this, limit] {
      auto deadline = std::chrono::steady_clock::now() + limit;
      while (!disarmed_.load()) {
        if (std::chrono::steady_clock::now() >= deadline) {
          std::fprintf(stderr, "watchdog: %s did not finish within %lld ms\n", what_.c_str(),
                       static_cast<long long>(limit.count()));
          if (report_) report_();
          std::fflush(stderr);
          std::abort();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  ~Watchdog() { disarm(); }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void disarm() {
    disarmed_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::string what_;
  std::function<void()> report_;
  std::atomic<bool> disarmed_{false};
  std::thread thread_;
};

}  // namespace intr_test
