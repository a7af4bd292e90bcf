// Timing, statistics and CPU placement shared by every benchmark case.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <pthread.h>
#include <sched.h>
#include <utility>
#include <vector>

namespace intr::bench {

// steady_clock in nanoseconds. On Linux with the TSC clock source this is a
// vDSO call of about 20 ns, the same on every thread and for every case.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Busy-waits for `nanoseconds` without touching shared memory.
void spin_for(std::int64_t nanoseconds);

struct Percentiles {
  double p50_ns = 0;
  double p99_ns = 0;
};

// Nearest-rank percentiles; sorts `samples`. Zero when it is empty.
Percentiles percentiles(std::vector<double>& samples);

// The first two CPUs in the process's affinity mask, or nullopt when it has
// fewer than two.
std::optional<std::pair<int, int>> two_cpus();

// Pins the thread to one CPU; returns false when the kernel rejects it.
bool pin_thread(pthread_t thread, int cpu);

// Restores the calling thread's CPU mask when it goes out of scope.
class AffinityGuard {
 public:
  AffinityGuard();
  ~AffinityGuard();
  AffinityGuard(const AffinityGuard&) = delete;
  AffinityGuard& operator=(const AffinityGuard&) = delete;

 private:
  cpu_set_t saved_;
  bool valid_;
};

}  // namespace intr::bench
