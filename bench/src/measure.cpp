#include "measure.hpp"

#include <algorithm>
#include <cmath>
#include <pthread.h>

namespace intr::bench {

void spin_for(std::int64_t nanoseconds) {
  std::int64_t end = now_ns() + nanoseconds;
  while (now_ns() < end) cpu_relax();
}

Percentiles percentiles(std::vector<double>& samples) {
  Percentiles result;
  if (samples.empty()) return result;
  std::sort(samples.begin(), samples.end());
  auto at = [&samples](double fraction) {
    auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(samples.size())));
    return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
  };
  result.p50_ns = at(0.50);
  result.p99_ns = at(0.99);
  return result;
}

std::optional<std::pair<int, int>> two_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return std::nullopt;
  int found[2] = {-1, -1};
  int count = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE && count < 2; ++cpu) {
    if (CPU_ISSET(cpu, &set)) found[count++] = cpu;
  }
  if (count < 2) return std::nullopt;
  return std::pair{found[0], found[1]};
}

bool pin_thread(pthread_t thread, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(thread, sizeof set, &set) == 0;
}

AffinityGuard::AffinityGuard() : saved_{}, valid_(false) {
  CPU_ZERO(&saved_);
  valid_ = pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) == 0;
}

AffinityGuard::~AffinityGuard() {
  if (valid_) pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
}

}  // namespace intr::bench
