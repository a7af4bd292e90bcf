// `intr demo`: runs the built-in workload and prints, per kind of interrupt,
// how many were requested and observed and how long delivery took.
#include "command.hpp"
#include "workload.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace intr::tools {
namespace {

constexpr double min_duration_seconds = 0.001;
constexpr double max_duration_seconds = 3600.0;

struct DemoOptions {
  unsigned threads = 2;
  double duration_seconds = 2.0;
  double rate = 1000.0;
  bool json = false;
};

// Parses a whole decimal string into a double; false on trailing text,
// overflow or an empty string.
bool parse_double(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return errno == 0 && end == text.c_str() + text.size() && std::isfinite(value);
}

CLI::Validator thread_count_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        unsigned value = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc{} || end != text.data() + text.size() || value < 1 ||
            value > WorkloadConfig::max_threads) {
          return "'" + text + "' is invalid: give a whole number of worker threads from 1 to " +
                 std::to_string(WorkloadConfig::max_threads);
        }
        return {};
      },
      "1 to " + std::to_string(WorkloadConfig::max_threads));
}

// Accepts seconds as a plain number or with a unit ("0.5", "2s", "500ms")
// and rewrites the text to plain seconds for CLI11 to store.
CLI::Validator duration_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::string number = text;
        double scale = 1.0;
        if (number.size() > 2 && number.compare(number.size() - 2, 2, "ms") == 0) {
          number.resize(number.size() - 2);
          scale = 1e-3;
        } else if (number.size() > 1 && number.back() == 's') {
          number.pop_back();
        }
        double seconds = 0.0;
        // The lower bound keeps the value that std::to_string() passes on
        // (six decimals) above zero.
        if (!parse_double(number, seconds) || !(seconds * scale >= min_duration_seconds) ||
            seconds * scale > max_duration_seconds) {
          return "'" + text + "' is invalid: give a duration from 1 ms to 3600 seconds, as seconds (2, 0.5) "
                 "or with a unit (2s, 500ms)";
        }
        text = std::to_string(seconds * scale);
        return {};
      },
      "SECONDS");
}

CLI::Validator rate_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double rate = 0.0;
        if (!parse_double(text, rate) || rate <= 0.0 || rate > WorkloadConfig::max_rate) {
          return "'" + text + "' is invalid: give interrupts per second as a number above 0 and at most 1000000";
        }
        return {};
      },
      "PER_SECOND");
}

// Formats nanoseconds with a unit that keeps three significant digits.
std::string format_latency(std::int64_t nanoseconds) {
  char text[32];
  if (nanoseconds < 1'000) {
    std::snprintf(text, sizeof text, "%lld ns", static_cast<long long>(nanoseconds));
  } else if (nanoseconds < 1'000'000) {
    std::snprintf(text, sizeof text, "%.1f us", static_cast<double>(nanoseconds) / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.2f ms", static_cast<double>(nanoseconds) / 1e6);
  }
  return text;
}

void print_table(const DemoOptions& options, const WorkloadResult& result) {
  std::printf("intr demo: %u worker threads, %.0f interrupts/s for %.2f s\n\n", options.threads, options.rate,
              std::chrono::duration<double>(result.elapsed).count());
  std::printf("%-14s %10s %10s %10s %10s %10s\n", "kind", "interrupts", "observed", "p50", "p99", "max");
  for (InterruptKind kind : all_kinds) {
    const KindResult& row = result[kind];
    std::printf("%-14.*s %10llu %10llu %10s %10s %10s\n", static_cast<int>(name(kind).size()), name(kind).data(),
                static_cast<unsigned long long>(row.requested), static_cast<unsigned long long>(row.observed),
                format_latency(row.latency.p50_ns).c_str(), format_latency(row.latency.p99_ns).c_str(),
                format_latency(row.latency.max_ns).c_str());
  }
  std::printf("\nrequested %llu, observed %llu\n", static_cast<unsigned long long>(result.requested()),
              static_cast<unsigned long long>(result.observed()));
  std::printf("wake-ups %llu; interrupt signals %llu accepted, %llu late; send failures %llu; skipped ticks %llu\n",
              static_cast<unsigned long long>(result.wakes), static_cast<unsigned long long>(result.signals_accepted),
              static_cast<unsigned long long>(result.signals_late),
              static_cast<unsigned long long>(result.send_failures),
              static_cast<unsigned long long>(result.skipped_ticks));
}

nlohmann::json to_json(const DemoOptions& options, const WorkloadResult& result) {
  nlohmann::json kinds = nlohmann::json::array();
  for (InterruptKind kind : all_kinds) {
    const KindResult& row = result[kind];
    kinds.push_back({{"kind", std::string(name(kind))},
                     {"interrupts", row.requested},
                     {"observed", row.observed},
                     {"samples", row.latency.samples},
                     {"p50_ns", row.latency.p50_ns},
                     {"p99_ns", row.latency.p99_ns},
                     {"max_ns", row.latency.max_ns}});
  }
  return {{"threads", options.threads},
          {"duration_s", options.duration_seconds},
          {"rate_per_s", options.rate},
          {"elapsed_s", std::chrono::duration<double>(result.elapsed).count()},
          {"kinds", kinds},
          {"requested", result.requested()},
          {"observed", result.observed()},
          {"lost", result.requested() - result.observed()},
          {"wakes", result.wakes},
          {"signals_accepted", result.signals_accepted},
          {"signals_late", result.signals_late},
          {"send_failures", result.send_failures},
          {"skipped_ticks", result.skipped_ticks}};
}

int run_demo(const DemoOptions& options) {
  WorkloadConfig config;
  config.threads = options.threads;
  config.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(options.duration_seconds));
  config.rate = options.rate;
  WorkloadResult result = run_workload(config);

  if (options.json) {
    std::printf("%s\n", to_json(options, result).dump(2).c_str());
  } else {
    print_table(options, result);
  }
  if (result.observed() != result.requested()) {
    std::fprintf(stderr, "intr demo: %llu interrupts were requested but %llu observed: %llu lost\n",
                 static_cast<unsigned long long>(result.requested()),
                 static_cast<unsigned long long>(result.observed()),
                 static_cast<unsigned long long>(result.requested() - result.observed()));
    return exit_property_failed;
  }
  return exit_ok;
}

}  // namespace

void add_demo_command(CLI::App& app, Action& action) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* demo = app.add_subcommand(
      "demo", "Run worker threads that wait, run guest loops and host code while a watchdog interrupts them; "
              "print the interrupts requested and observed per kind and their latency. Exits 1 if any was lost.");
  demo->add_option("--threads", options->threads, "worker threads, from 1 to 1024 (default 2)")
      ->check(thread_count_validator());
  demo->add_option("--duration", options->duration_seconds,
                   "how long the watchdog interrupts: seconds (2, 0.5) or with a unit (2s, 500ms); "
                   "above 0, at most 3600 s (default 2s)")
      ->transform(duration_validator());
  demo->add_option("--rate", options->rate,
                   "interrupts per second over all workers, above 0 and at most 1000000 (default 1000)")
      ->check(rate_validator());
  demo->add_flag("--json", options->json, "print the results as JSON");
  demo->callback([options, &action] { action = [options] { return run_demo(*options); }; });
}

}  // namespace intr::tools
