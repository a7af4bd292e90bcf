// Text formats of the model checker: replayable schedules, the JSON report of
// `intr check --json`, the merge of sharded reports and the JUnit XML report.
//
// Schedule string, version 1:
//
//   intr1:<scenario>:<choices>:<checksum>
//
//  - <scenario> is the scenario name: 1 to 200 characters from [A-Za-z0-9_./-].
//  - <choices> is the list of scheduling choices, possibly empty. A choice
//    from 0 to 35 is one character from [0-9a-z] (base 36). A larger choice is
//    its base-36 digits between two dots, without leading zeros (".1c." is
//    48). An uppercase letter repeats the choice before it: 'A' once more,
//    'B' twice more, up to 'Z' 26 times more, and letters can follow each
//    other ("0ZD" is 31 zeros).
//  - <checksum> is the CRC-32 (zlib's crc32) of everything before the last
//    colon, as 8 lowercase hex digits, so a mistyped or truncated string is
//    rejected instead of replaying a different schedule.
//
// JSON report (`intr check --json`):
//
//   {"scenarios": [{"name": str, "verdict": "pass" | "fail",
//                   "executions": uint, "seconds": float >= 0}],
//    "mutants":   [{"name": str, "killed": bool, "scenario": str,
//                   "counterexample_steps": uint}]}
//
// A killed mutant names the scenario whose check caught it and the length of
// the counterexample in steps. A surviving mutant has "scenario": "" and
// "counterexample_steps": 0. Either array may be empty. Readers ignore keys
// they do not know, so newer writers can add fields.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace intr::harness {

// Raised for any input that does not follow the formats above. The message
// names the bad part and says what to do.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A replayable schedule: the scenario and the choice taken at each
// scheduling point, in order.
struct Schedule {
  std::string scenario;
  std::vector<std::uint32_t> choices;

  friend bool operator==(const Schedule&, const Schedule&) = default;
};

inline constexpr std::string_view schedule_prefix = "intr1:";
inline constexpr std::size_t max_scenario_name_length = 200;

// Encodes `schedule` as a version 1 schedule string. Raises FormatError when
// the scenario name is empty, too long or contains a character outside
// [A-Za-z0-9_./-].
std::string encode_schedule(const Schedule& schedule);

// Decodes a schedule string. Raises FormatError for a wrong prefix or
// version, a missing field, an invalid character, a choice above 2^32 - 1 or
// a checksum mismatch. Leading and trailing whitespace is ignored.
Schedule decode_schedule(std::string_view text);

// Verdicts of a scenario.
inline constexpr std::string_view verdict_pass = "pass";  // every explored execution met every check
inline constexpr std::string_view verdict_fail = "fail";  // at least one execution broke a check

struct ScenarioResult {
  std::string name;
  std::string verdict;  // verdict_pass or verdict_fail
  std::uint64_t executions = 0;
  double seconds = 0;  // wall-clock time spent exploring

  friend bool operator==(const ScenarioResult&, const ScenarioResult&) = default;
};

struct MutantResult {
  std::string name;
  bool killed = false;
  std::string scenario;                    // the scenario that killed it; empty when it survived
  std::uint64_t counterexample_steps = 0;  // steps of the failing execution; 0 when it survived

  friend bool operator==(const MutantResult&, const MutantResult&) = default;
};

struct CheckReport {
  std::vector<ScenarioResult> scenarios;
  std::vector<MutantResult> mutants;

  friend bool operator==(const CheckReport&, const CheckReport&) = default;
};

// Writes `report` as JSON in the schema above, indented by two spaces.
std::string to_json(const CheckReport& report);

// Parses a JSON report. Raises FormatError naming the JSON path of the first
// problem: invalid JSON, a missing or mistyped field, an unknown verdict, a
// negative or non-finite number, an empty or repeated name.
CheckReport report_from_json(std::string_view json);

// Combines the reports of the shards of one sharded run, each of which
// explored a part of every scenario. Per scenario, executions and seconds add
// up and the verdict is fail when any shard failed. A mutant is killed when
// any shard killed it, with the shortest counterexample that any shard found
// (the first shard's on a tie). The order of names is the first report's.
// Raises FormatError when `reports` is empty or when a scenario or mutant is
// missing from some shard, because then the reports do not come from one
// sharded run.
CheckReport merge_reports(const std::vector<CheckReport>& reports);

// Writes `report` as JUnit XML: one test case per scenario (classname
// "scenario") and per mutant (classname "mutant"). A failed scenario and a
// surviving mutant are failures.
std::string to_junit(const CheckReport& report);

}  // namespace intr::harness
