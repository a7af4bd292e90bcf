// Merging the reports of the shards of one sharded `intr check` run.
#include <intr/harness/format.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace intr::harness {
namespace {

constexpr const char* merge_fix = "merge only the reports of one sharded run, one report per shard";

// Maps each name to its position in `items`; raises on a repeated name.
template <class Item>
std::map<std::string, std::size_t> index_by_name(const std::vector<Item>& items, std::size_t shard, const char* kind) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!index.emplace(items[i].name, i).second) {
      throw FormatError(std::string("merge_reports: ") + kind + " '" + items[i].name + "' appears twice in shard " +
                        std::to_string(shard) + "; " + merge_fix);
    }
  }
  return index;
}

// Checks that `shard` has exactly the names of the first shard.
void check_same_names(const std::map<std::string, std::size_t>& first, const std::map<std::string, std::size_t>& other,
                      std::size_t shard, const char* kind) {
  for (const auto& [name, position] : first) {
    if (!other.contains(name)) {
      throw FormatError(std::string("merge_reports: ") + kind + " '" + name + "' is in shard 0 but missing from shard " +
                        std::to_string(shard) + "; " + merge_fix);
    }
  }
  for (const auto& [name, position] : other) {
    if (!first.contains(name)) {
      throw FormatError(std::string("merge_reports: ") + kind + " '" + name + "' is in shard " + std::to_string(shard) +
                        " but missing from shard 0; " + merge_fix);
    }
  }
}

void add_scenario(ScenarioResult& total, const ScenarioResult& shard) {
  if (shard.executions > std::numeric_limits<std::uint64_t>::max() - total.executions) {
    throw FormatError("merge_reports: the executions of scenario '" + total.name +
                      "' add up to more than 2^64 - 1; check the shard reports for a corrupted count");
  }
  total.executions += shard.executions;
  total.seconds += shard.seconds;
  if (shard.verdict == verdict_fail) total.verdict = std::string(verdict_fail);
}

void add_mutant(MutantResult& total, const MutantResult& shard) {
  if (!shard.killed) return;
  if (!total.killed || shard.counterexample_steps < total.counterexample_steps) {
    total = shard;
  }
}

}  // namespace

CheckReport merge_reports(const std::vector<CheckReport>& reports) {
  if (reports.empty()) {
    throw FormatError("merge_reports: no reports to merge; pass at least one shard's report");
  }

  CheckReport merged = reports.front();
  auto first_scenarios = index_by_name(merged.scenarios, 0, "scenario");
  auto first_mutants = index_by_name(merged.mutants, 0, "mutant");

  for (std::size_t shard = 1; shard < reports.size(); ++shard) {
    const CheckReport& report = reports[shard];
    auto scenarios = index_by_name(report.scenarios, shard, "scenario");
    auto mutants = index_by_name(report.mutants, shard, "mutant");
    check_same_names(first_scenarios, scenarios, shard, "scenario");
    check_same_names(first_mutants, mutants, shard, "mutant");

    for (const auto& [name, position] : scenarios) {
      add_scenario(merged.scenarios[first_scenarios.at(name)], report.scenarios[position]);
    }
    for (const auto& [name, position] : mutants) {
      add_mutant(merged.mutants[first_mutants.at(name)], report.mutants[position]);
    }
  }
  return merged;
}

}  // namespace intr::harness
