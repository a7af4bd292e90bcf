#include <intr/harness/benchmark.hpp>
#include <intr/harness/explorer.hpp>
#include <intr/harness/scenarios.hpp>

#include <time.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

namespace intr::harness {

namespace {

// DFS on the three-thread scenarios can take millions of executions; the
// benchmark stops it here and reports the count as a lower bound.
constexpr std::uint64_t dfs_limit = 3'000'000;

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

// CPU time of the calling thread: the machine may be shared, and wall-clock
// time would count other processes' turns on the core.
double cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Explores and returns the result with `seconds` replaced by CPU seconds.
Result measured(const Scenario& scenario, const Options& options) {
  double start = cpu_seconds();
  Result result = explore(scenario, options);
  result.seconds = cpu_seconds() - start;
  return result;
}

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

}  // namespace

std::string benchmark_report() {
  std::string report = "machine: " + cpu_model() + ", " + std::to_string(std::thread::hardware_concurrency()) +
                       " hardware threads; one core used; times are CPU seconds of the exploring thread\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-32s %7s %12s %9s %12s %9s %8s\n", "scenario", "threads", "dfs execs",
                "dfs cpu s", "dpor execs", "dpor cpu s", "ratio");
  report += line;

  double suite_seconds = 0;
  std::uint64_t two_thread_dfs = 0;
  double two_thread_dfs_seconds = 0;
  std::uint64_t two_thread_dpor = 0;
  double two_thread_dpor_seconds = 0;
  for (const Scenario& scenario : builtin_scenarios()) {
    Options dfs;
    dfs.strategy = Strategy::dfs;
    dfs.max_executions = dfs_limit;
    dfs.record_steps = false;
    dfs.shrink = false;
    Options dpor = dfs;
    dpor.strategy = Strategy::dpor;
    dpor.max_executions = 0;
    Result by_dfs = measured(scenario, dfs);
    Result by_dpor = measured(scenario, dpor);
    suite_seconds += by_dpor.seconds;
    bool stops_early = by_dfs.failure.has_value() || by_dpor.failure.has_value();
    std::string dfs_count = std::to_string(by_dfs.executions);
    if (!by_dfs.complete && !stops_early) dfs_count = ">=" + dfs_count;
    std::string ratio = stops_early ? "failure" : format("%.1fx", static_cast<double>(by_dfs.executions) /
                                                                      static_cast<double>(by_dpor.executions));
    std::snprintf(line, sizeof line, "%-32s %7u %12s %9.3f %12llu %9.3f %8s\n", scenario.name.c_str(),
                  by_dpor.threads, dfs_count.c_str(), by_dfs.seconds,
                  static_cast<unsigned long long>(by_dpor.executions), by_dpor.seconds, ratio.c_str());
    report += line;
    if (by_dpor.threads == 2 && !stops_early) {
      two_thread_dfs += by_dfs.executions;
      two_thread_dfs_seconds += by_dfs.seconds;
      two_thread_dpor += by_dpor.executions + by_dpor.redundant;
      two_thread_dpor_seconds += by_dpor.seconds;
    }
  }
  report += "\ntwo-thread scenarios, executions per second: dfs " +
            format("%.0f", static_cast<double>(two_thread_dfs) / two_thread_dfs_seconds) + ", dpor " +
            format("%.0f", static_cast<double>(two_thread_dpor) / two_thread_dpor_seconds) +
            " (dpor counts its sleep-set-blocked executions too)\n";
  report += "whole built-in suite with dpor: " + format("%.2f", suite_seconds) + " CPU seconds\n";
  return report;
}

}  // namespace intr::harness
