// `intr check`: the deterministic model checker. Explores the built-in
// scenarios against the real core, replays schedules, runs the mutants,
// merges the reports of shards and measures the explorer's speed.
#include "command.hpp"

#include <intr/harness/benchmark.hpp>
#include <intr/harness/explorer.hpp>
#include <intr/harness/format.hpp>
#include <intr/harness/mutants.hpp>
#include <intr/harness/report.hpp>
#include <intr/harness/scenarios.hpp>

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace intr::tools {
namespace {

namespace h = intr::harness;

struct CheckOptions {
  std::vector<std::string> scenarios;
  bool list = false;
  std::string strategy = "dpor";
  std::optional<std::uint32_t> preemption_bound;
  std::uint64_t seed = 1;
  std::uint64_t iterations = 10000;
  std::uint32_t step_bound = 1000;
  std::uint32_t spurious_wakeups = 1;
  std::string replay;
  std::string mutant;
  bool mutants = false;
  bool json = false;
  std::string junit;
  std::string shard;
  std::vector<std::string> merge;
  bool bench = false;
};

// A usage error: the message names the value and the fix; exit code 2.
struct UsageError {
  std::string message;
};

h::Strategy parse_strategy(const std::string& name) {
  if (name == "dpor") return h::Strategy::dpor;
  if (name == "dfs") return h::Strategy::dfs;
  if (name == "random") return h::Strategy::random;
  if (name == "pct") return h::Strategy::pct;
  throw UsageError{"unknown strategy '" + name + "'; use dpor, dfs, random or pct"};
}

// Parses "I/N" (1-based shard I of N).
void parse_shard(const std::string& text, h::Options& options) {
  auto slash = text.find('/');
  auto parse = [&](std::string_view part, std::uint32_t& value) {
    auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
    return error == std::errc{} && end == part.data() + part.size() && !part.empty();
  };
  std::uint32_t index = 0;
  std::uint32_t count = 0;
  if (slash == std::string::npos || !parse(std::string_view(text).substr(0, slash), index) ||
      !parse(std::string_view(text).substr(slash + 1), count)) {
    throw UsageError{"shard '" + text + "' is malformed; write I/N, for example --shard 2/4"};
  }
  if (count == 0 || index == 0 || index > count) {
    throw UsageError{"shard '" + text + "' is out of range; I must be from 1 to N and N at least 1"};
  }
  options.shard_index = index - 1;
  options.shard_count = count;
}

std::vector<const h::Scenario*> select_scenarios(const std::vector<std::string>& names) {
  std::vector<const h::Scenario*> selected;
  if (names.empty()) {
    for (const h::Scenario& scenario : h::builtin_scenarios()) selected.push_back(&scenario);
    return selected;
  }
  for (const std::string& name : names) {
    const h::Scenario* scenario = h::find_builtin_scenario(name);
    if (scenario == nullptr) {
      throw UsageError{"unknown scenario '" + name + "'; `intr check --list` prints the built-in scenarios"};
    }
    selected.push_back(scenario);
  }
  return selected;
}

const h::Mutant* select_mutant(const std::string& name) {
  if (name.empty()) return nullptr;
  const h::Mutant* mutant = h::find_mutant(name);
  if (mutant == nullptr) {
    throw UsageError{"unknown mutant '" + name + "'; `intr check --list` prints the mutants"};
  }
  return mutant;
}

// Shows how far a long exploration has come, on a terminal only.
class ProgressLine {
 public:
  ProgressLine() : enabled_(isatty(STDERR_FILENO) == 1) {}
  void attach(h::Options& options, const std::string& scenario) {
    if (!enabled_) return;
    options.progress = [this, scenario](const h::Progress& progress) {
      std::fprintf(stderr, "\r\033[K%s: %llu executions, %.1f s", scenario.c_str(),
                   static_cast<unsigned long long>(progress.executions), progress.seconds);
      shown_ = true;
    };
  }
  void clear() {
    if (shown_) std::fputs("\r\033[K", stderr);
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

std::string verdict_text(const h::Scenario& scenario, const h::Result& result) {
  bool expected = result.as_expected(scenario);
  if (scenario.expectation == h::Expectation::fails) {
    return expected ? "expected failure found" : "FAIL: expected failure not found";
  }
  if (!expected) return "FAIL";
  return result.complete ? "pass" : "pass (incomplete)";
}

std::string format_seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", seconds);
  return text;
}

void print_row(const std::vector<std::string>& cells, const std::vector<std::size_t>& widths) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::string cell = cells[i];
    if (i + 1 < cells.size() && cell.size() < widths[i]) cell.append(widths[i] - cell.size(), ' ');
    line += cell;
    if (i + 1 < cells.size()) line += "  ";
  }
  std::printf("%s\n", line.c_str());
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) print_row(row, widths);
}

void write_junit(const std::string& path, const h::CheckReport& report) {
  std::ofstream file(path);
  if (!file) throw UsageError{"cannot write the JUnit report to '" + path + "'; check that the folder exists"};
  file << h::to_junit(report);
}

int run_scenarios(const CheckOptions& cli, h::Options options) {
  std::vector<const h::Scenario*> scenarios = select_scenarios(cli.scenarios);
  const h::Mutant* mutant = select_mutant(cli.mutant);
  std::optional<h::ActiveMutant> active;
  if (mutant != nullptr) active.emplace(*mutant);

  ProgressLine progress;
  h::CheckReport report;
  std::vector<std::vector<std::string>> rows{{"scenario", "executions", "pruned", "time", "verdict"}};
  std::vector<std::string> failure_reports;
  bool all_expected = true;
  for (const h::Scenario* scenario : scenarios) {
    h::Options scenario_options = options;
    if (scenario->expectation == h::Expectation::fails && options.shard_count > 1) {
      // A demonstration finds its failure in one part of the search, not in
      // every shard. Shard 1 therefore explores it whole, and the other
      // shards report it as passed with no executions. The merged verdict
      // then fails exactly when shard 1 did not find the failure.
      if (options.shard_index != 0) {
        rows.push_back({scenario->name, "0", "0", format_seconds(0), "expected failure: checked in shard 1"});
        report.scenarios.push_back({scenario->name, std::string(h::verdict_pass), 0, 0.0});
        continue;
      }
      scenario_options.shard_index = 0;
      scenario_options.shard_count = 1;
    }
    progress.attach(scenario_options, scenario->name);
    h::Result result = h::explore(*scenario, scenario_options);
    progress.clear();
    bool expected = result.as_expected(*scenario);
    all_expected = all_expected && expected;
    rows.push_back({scenario->name, std::to_string(result.executions), std::to_string(result.pruned),
                    format_seconds(result.seconds), verdict_text(*scenario, result)});
    report.scenarios.push_back({scenario->name, expected ? std::string(h::verdict_pass) : std::string(h::verdict_fail),
                                result.executions, result.seconds});
    if (result.failure && !expected) {
      std::string_view mutant_name = mutant != nullptr ? mutant->name : std::string_view{};
      failure_reports.push_back(h::failure_report(*scenario, *result.failure, mutant_name));
    }
  }

  std::FILE* reports_to = cli.json ? stderr : stdout;
  if (cli.json) {
    std::printf("%s\n", h::to_json(report).c_str());
  } else {
    print_table(rows);
  }
  for (const std::string& text : failure_reports) std::fprintf(reports_to, "\n%s", text.c_str());
  if (!cli.junit.empty()) write_junit(cli.junit, report);
  return all_expected ? exit_ok : exit_property_failed;
}

// Returns the scenario that kills `mutant`, with its result.
std::optional<std::pair<const h::Scenario*, h::Result>> hunt(const h::Mutant& mutant, const h::Options& options) {
  h::ActiveMutant active(mutant);
  for (const h::Scenario& scenario : h::builtin_scenarios()) {
    h::Options hunt_options = options;
    hunt_options.shrink = false;
    h::Result result = h::explore(scenario, hunt_options);
    if (!result.as_expected(scenario)) return std::make_pair(&scenario, std::move(result));
  }
  return std::nullopt;
}

int run_mutants(const CheckOptions& cli, const h::Options& options) {
  h::CheckReport report;
  std::vector<std::vector<std::string>> rows{{"mutant", "verdict", "caught by", "steps", "failure"}};
  bool all_killed = true;
  for (const h::Mutant& mutant : h::all_mutants()) {
    auto killer = hunt(mutant, options);
    h::MutantResult entry{std::string(mutant.name), killer.has_value(), "", 0};
    if (killer) {
      const h::Result& result = killer->second;
      entry.scenario = killer->first->name;
      entry.counterexample_steps = result.failure ? result.failure->steps.size() : 0;
      std::string what = result.failure ? h::to_string(result.failure->kind) : "expected failure missing";
      rows.push_back({entry.name, "killed", entry.scenario, std::to_string(entry.counterexample_steps), what});
    } else {
      all_killed = false;
      rows.push_back({entry.name, "SURVIVED", "-", "-", "-"});
    }
    report.mutants.push_back(std::move(entry));
  }
  if (cli.json) {
    std::printf("%s\n", h::to_json(report).c_str());
  } else {
    print_table(rows);
  }
  if (!cli.junit.empty()) write_junit(cli.junit, report);
  return all_killed ? exit_ok : exit_property_failed;
}

int run_replay(const CheckOptions& cli, const h::Options& options) {
  h::Schedule schedule;
  try {
    schedule = h::decode_schedule(cli.replay);
  } catch (const h::FormatError& error) {
    throw UsageError{std::string("invalid schedule string: ") + error.what()};
  }
  const h::Scenario* scenario = h::find_builtin_scenario(schedule.scenario);
  if (scenario == nullptr) {
    throw UsageError{"the schedule names scenario '" + schedule.scenario +
                     "', which is not built in; `intr check --list` prints the built-in scenarios"};
  }
  const h::Mutant* mutant = select_mutant(cli.mutant);
  std::optional<h::ActiveMutant> active;
  if (mutant != nullptr) active.emplace(*mutant);
  h::Result result;
  try {
    result = h::replay(*scenario, schedule.choices, options);
  } catch (const h::ReplayError& error) {
    throw UsageError{error.what()};
  }
  if (!result.failure) {
    std::printf("scenario: %s\nthe schedule runs to its end and every check holds\n", scenario->name.c_str());
    return exit_ok;
  }
  std::string_view mutant_name = mutant != nullptr ? mutant->name : std::string_view{};
  std::printf("%s", h::failure_report(*scenario, *result.failure, mutant_name).c_str());
  return exit_property_failed;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw UsageError{"cannot read report '" + path + "'; check the path"};
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) throw UsageError{"cannot read report '" + path + "'; check the path"};
  return text.str();
}

int run_merge(const CheckOptions& cli) {
  std::vector<h::CheckReport> reports;
  for (const std::string& path : cli.merge) {
    std::string text = read_file(path);
    try {
      reports.push_back(h::report_from_json(text));
    } catch (const h::FormatError& error) {
      throw UsageError{"report '" + path + "' is invalid: " + error.what()};
    }
  }
  h::CheckReport merged;
  try {
    merged = h::merge_reports(reports);
  } catch (const h::FormatError& error) {
    throw UsageError{std::string("the reports do not merge: ") + error.what()};
  }
  bool pass = true;
  std::vector<std::vector<std::string>> rows{{"scenario", "executions", "time", "verdict"}};
  for (const h::ScenarioResult& scenario : merged.scenarios) {
    pass = pass && scenario.verdict == h::verdict_pass;
    rows.push_back({scenario.name, std::to_string(scenario.executions), format_seconds(scenario.seconds),
                    scenario.verdict});
  }
  for (const h::MutantResult& mutant : merged.mutants) pass = pass && mutant.killed;
  if (cli.json) {
    std::printf("%s\n", h::to_json(merged).c_str());
  } else {
    print_table(rows);
    std::printf("verdict: %s\n", pass ? "pass" : "FAIL");
  }
  if (!cli.junit.empty()) write_junit(cli.junit, merged);
  return pass ? exit_ok : exit_property_failed;
}

int run_list() {
  std::printf("scenarios:\n");
  for (const h::Scenario& scenario : h::builtin_scenarios()) {
    std::printf("  %-32s %s\n", scenario.name.c_str(), scenario.description.c_str());
  }
  std::printf("mutants (for --mutant NAME):\n");
  for (const h::Mutant& mutant : h::all_mutants()) {
    std::printf("  %-44s %.*s\n", std::string(mutant.name).c_str(), static_cast<int>(mutant.description.size()),
                mutant.description.data());
  }
  return exit_ok;
}

int run_check(const CheckOptions& cli) {
  if (cli.list) return run_list();
  if (!cli.merge.empty()) return run_merge(cli);
  h::Options options;
  options.strategy = parse_strategy(cli.strategy);
  options.preemption_bound = cli.preemption_bound;
  options.seed = cli.seed;
  options.iterations = cli.iterations;
  options.step_bound = cli.step_bound;
  options.spurious_wakeups = cli.spurious_wakeups;
  if (!cli.shard.empty()) parse_shard(cli.shard, options);
  if (cli.bench) {
    std::printf("%s", h::benchmark_report().c_str());
    return exit_ok;
  }
  if (!cli.replay.empty()) return run_replay(cli, options);
  if (cli.mutants) return run_mutants(cli, options);
  return run_scenarios(cli, options);
}

}  // namespace

void add_check_command(CLI::App& app, Action& action) {
  // Rejects an empty value, which a script passes when its variable is unset;
  // without it `--mutant ""` would quietly check the correct core.
  const CLI::Validator non_empty(
      [](std::string& value) { return value.empty() ? std::string("the value is empty; give a value or drop the option") : std::string(); },
      "NON-EMPTY");
  auto options = std::make_shared<CheckOptions>();
  CLI::App* check = app.add_subcommand(
      "check",
      "Model-check the core: explore every interleaving of the built-in scenarios (or the named ones) and "
      "report failures with a schedule that --replay reproduces");
  check->add_option("scenarios", options->scenarios, "Scenarios to check; all built-in ones when none is named");
  check->add_flag("--list", options->list, "Print the built-in scenarios and mutants, then exit");
  check->add_option("--strategy", options->strategy, "Search strategy: dpor (default), dfs, random or pct");
  check->add_option("--preemption-bound", options->preemption_bound,
                    "Explore only schedules with at most N preemptions (none by default)");
  check->add_option("--seed", options->seed, "Seed of the random and pct strategies (default 1)");
  check->add_option("--iterations", options->iterations,
                    "Executions per scenario for the random and pct strategies (default 10000)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
  check->add_option("--step-bound", options->step_bound,
                    "Steps an execution may take before it fails as a likely livelock (default 1000)")
      ->check(CLI::Range(1, 30000));
  check->add_option("--spurious-wakeups", options->spurious_wakeups,
                    "Spurious futex wake-ups that each execution may contain (default 1)")
      ->check(CLI::Range(0, 16));
  check->add_option("--replay", options->replay, "Replay one schedule string and print its steps")->check(non_empty);
  check->add_option("--mutant", options->mutant, "Run the scenarios or the replay against this mutant")
      ->check(non_empty);
  check->add_flag("--mutants", options->mutants, "Check that every mutant is killed by some scenario");
  check->add_flag("--json", options->json, "Print the report as JSON on stdout");
  check->add_option("--junit", options->junit, "Also write the report as JUnit XML to FILE")->check(non_empty);
  check->add_option("--shard", options->shard, "Explore only part I of N of each exhaustive search, e.g. 2/4")
      ->check(non_empty);
  check->add_option("--merge", options->merge, "Combine the JSON reports of shards into one verdict")
      ->expected(1, -1);
  check->add_flag("--bench", options->bench, "Measure executions per second and DPOR against DFS, then exit");
  check->callback([options, &action] {
    action = [options] {
      try {
        return run_check(*options);
      } catch (const UsageError& error) {
        std::fprintf(stderr, "intr check: %s\n", error.message.c_str());
        return exit_usage;
      } catch (const std::invalid_argument& error) {
        std::fprintf(stderr, "intr check: %s\n", error.what());
        return exit_usage;
      }
    };
  });
}

}  // namespace intr::tools
