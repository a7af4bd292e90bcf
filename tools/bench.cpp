// `intr bench`: runs the benchmark suite and prints each case's latency
// next to its raw baseline, measured in the same run.
#include "command.hpp"

#include <intr_bench/suite.hpp>

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>
#include <memory>
#include <string>

namespace intr::tools {
namespace {

struct BenchOptions {
  std::size_t iterations = 5000;
  bool no_pin = false;
  bool json = false;
};

CLI::Validator iterations_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::size_t value = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc{} || end != text.data() + text.size() || value < 1 ||
            value > bench::SuiteConfig::max_iterations) {
          return "'" + text + "' is invalid: give a whole number of samples per case from 1 to " +
                 std::to_string(bench::SuiteConfig::max_iterations);
        }
        return {};
      },
      "1 to " + std::to_string(bench::SuiteConfig::max_iterations));
}

std::string format_ns(double nanoseconds) {
  char text[32];
  if (nanoseconds < 1'000) {
    std::snprintf(text, sizeof text, "%.1f ns", nanoseconds);
  } else if (nanoseconds < 1'000'000) {
    std::snprintf(text, sizeof text, "%.2f us", nanoseconds / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.2f ms", nanoseconds / 1e6);
  }
  return text;
}

std::string format_target(const bench::CaseResult& result) {
  if (!result.target_ratio) return "peer";
  char text[32];
  std::snprintf(text, sizeof text, "<= %.2f %s", *result.target_ratio, result.target_met() ? "met" : "MISSED");
  return text;
}

void print_table(const bench::SuiteResult& suite) {
  std::printf("intr bench: %zu samples per case and per baseline", suite.iterations);
  if (suite.driver_cpu && suite.target_cpu) {
    std::printf(", driver on CPU %d, target on CPU %d\n\n", *suite.driver_cpu, *suite.target_cpu);
  } else {
    std::printf(", threads not pinned\n\n");
  }
  std::printf("%-24s %10s %10s  %-26s %10s %7s  %s\n", "case", "p50", "p99", "baseline", "base p50", "ratio",
              "target");
  for (const bench::CaseResult& row : suite.cases) {
    std::printf("%-24s %10s %10s  %-26s %10s %7.2f  %s\n", row.name.c_str(), format_ns(row.p50_ns).c_str(),
                format_ns(row.p99_ns).c_str(), row.baseline.c_str(), format_ns(row.baseline_p50_ns).c_str(),
                row.ratio, format_target(row).c_str());
  }
  std::printf("\n");
  for (const bench::CaseResult& row : suite.cases) {
    std::printf("%-24s %s\n", row.name.c_str(), row.description.c_str());
  }
}

nlohmann::json to_json(const bench::SuiteResult& suite) {
  nlohmann::json results = nlohmann::json::array();
  for (const bench::CaseResult& row : suite.cases) {
    results.push_back({{"name", row.name},
                       {"description", row.description},
                       {"p50_ns", row.p50_ns},
                       {"p99_ns", row.p99_ns},
                       {"baseline", row.baseline},
                       {"baseline_p50_ns", row.baseline_p50_ns},
                       {"baseline_p99_ns", row.baseline_p99_ns},
                       {"ratio", row.ratio},
                       {"target_ratio", row.target_ratio ? nlohmann::json(*row.target_ratio) : nlohmann::json()},
                       {"target_met", row.target_met()}});
  }
  nlohmann::json document = {{"iterations", suite.iterations}, {"results", results}};
  document["driver_cpu"] = suite.driver_cpu ? nlohmann::json(*suite.driver_cpu) : nlohmann::json();
  document["target_cpu"] = suite.target_cpu ? nlohmann::json(*suite.target_cpu) : nlohmann::json();
  return document;
}

int run_bench(const BenchOptions& options) {
  bench::SuiteConfig config;
  config.iterations = options.iterations;
  config.pin = !options.no_pin;
  bench::SuiteResult suite = bench::run_suite(config);
  if (options.json) {
    std::printf("%s\n", to_json(suite).dump(2).c_str());
  } else {
    print_table(suite);
  }
  return exit_ok;
}

}  // namespace

void add_bench_command(CLI::App& app, Action& action) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* bench = app.add_subcommand(
      "bench", "Measure interrupt latency and fast-path cost, each case against a raw baseline in the same run "
               "(futex, pthread_kill, atomic flag, bare atomics), and the std::stop_token and Boost.Thread peers. "
               "Exits 0 whether or not a target ratio is met.");
  bench->add_option("--iterations", options->iterations,
                    "samples per case and per baseline, from 1 to 10000000 (default 5000; about 1 s per 1000 on an idle machine)")
      ->check(iterations_validator());
  bench->add_flag("--no-pin", options->no_pin, "do not pin the two benchmark threads to two CPUs");
  bench->add_flag("--json", options->json,
                  "print JSON: {\"results\":[{\"name\",\"p50_ns\",\"p99_ns\",\"baseline\",\"baseline_p50_ns\","
                  "\"ratio\",...}]}");
  bench->callback([options, &action] { action = [options] { return run_bench(*options); }; });
}

}  // namespace intr::tools
