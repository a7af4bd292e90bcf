// The JSON report of `intr check --json`, in the schema described in format.hpp.
#include <intr/harness/format.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>
#include <string>
#include <string_view>

namespace intr::harness {
namespace {

using nlohmann::json;

// Reports nest three levels deep; anything deeper is rejected while parsing,
// before it can cost memory or stack.
constexpr int max_json_depth = 8;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw FormatError("report: " + path + ": " + problem +
                    "; pass the JSON that `intr check --json` wrote, unchanged");
}

std::string type_of(const json& value) {
  if (value.is_number_unsigned()) return "the number " + value.dump();
  if (value.is_number_integer()) return "the negative number " + value.dump();
  if (value.is_number_float()) return "the number " + value.dump();
  if (value.is_string()) {
    std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > 60) text = text.substr(0, 60) + "...\"";
    return "the string " + text;
  }
  return std::string(value.type_name());
}

const json& field(const json& object, const std::string& path, const char* key) {
  auto found = object.find(key);
  if (found == object.end()) fail(path, std::string("the field \"") + key + "\" is missing");
  return *found;
}

std::string read_name(const json& object, const std::string& path) {
  const json& value = field(object, path, "name");
  if (!value.is_string()) fail(path + ".name", "expected a string, found " + type_of(value));
  const auto& name = value.get_ref<const std::string&>();
  if (name.empty()) fail(path + ".name", "the name is empty");
  return name;
}

std::string read_string(const json& object, const std::string& path, const char* key) {
  const json& value = field(object, path, key);
  if (!value.is_string()) fail(path + "." + key, "expected a string, found " + type_of(value));
  return value.get<std::string>();
}

std::uint64_t read_count(const json& object, const std::string& path, const char* key) {
  const json& value = field(object, path, key);
  if (!value.is_number_unsigned()) {
    fail(path + "." + key, "expected a non-negative integer, found " + type_of(value));
  }
  return value.get<std::uint64_t>();
}

double read_seconds(const json& object, const std::string& path, const char* key) {
  const json& value = field(object, path, key);
  if (!value.is_number()) fail(path + "." + key, "expected a number of seconds, found " + type_of(value));
  double seconds = value.get<double>();
  if (!std::isfinite(seconds) || seconds < 0) {
    fail(path + "." + key, "expected a finite, non-negative number of seconds, found " + value.dump());
  }
  return seconds;
}

const json& read_array(const json& report, const char* key) {
  const json& value = field(report, "(top level)", key);
  if (!value.is_array()) fail(key, "expected an array, found " + type_of(value));
  return value;
}

ScenarioResult read_scenario(const json& value, const std::string& path) {
  if (!value.is_object()) fail(path, "expected an object, found " + type_of(value));
  ScenarioResult scenario;
  scenario.name = read_name(value, path);
  scenario.verdict = read_string(value, path, "verdict");
  if (scenario.verdict != verdict_pass && scenario.verdict != verdict_fail) {
    fail(path + ".verdict", "the verdict \"" + scenario.verdict + "\" is unknown; it must be \"pass\" or \"fail\"");
  }
  scenario.executions = read_count(value, path, "executions");
  scenario.seconds = read_seconds(value, path, "seconds");
  return scenario;
}

MutantResult read_mutant(const json& value, const std::string& path) {
  if (!value.is_object()) fail(path, "expected an object, found " + type_of(value));
  MutantResult mutant;
  mutant.name = read_name(value, path);
  const json& killed = field(value, path, "killed");
  if (!killed.is_boolean()) fail(path + ".killed", "expected true or false, found " + type_of(killed));
  mutant.killed = killed.get<bool>();
  mutant.scenario = read_string(value, path, "scenario");
  mutant.counterexample_steps = read_count(value, path, "counterexample_steps");
  return mutant;
}

void check_unique(std::set<std::string>& seen, const std::string& name, const std::string& path) {
  if (!seen.insert(name).second) fail(path + ".name", "the name \"" + name + "\" appears twice");
}

json parse(std::string_view text) {
  // The callback runs at every value; throwing from it stops the parser at
  // the first level that is too deep.
  json::parser_callback_t limit_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > max_json_depth) {
      throw FormatError("report: the JSON nests deeper than " + std::to_string(max_json_depth) +
                        " levels; pass the JSON that `intr check --json` wrote, unchanged");
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), limit_depth);
  } catch (const json::exception& e) {
    // parse_error for bad syntax, out_of_range for a number beyond a double.
    throw FormatError(std::string("report: invalid JSON: ") + e.what() +
                      "; pass the JSON that `intr check --json` wrote, unchanged");
  }
}

}  // namespace

std::string to_json(const CheckReport& report) {
  json scenarios = json::array();
  for (const ScenarioResult& scenario : report.scenarios) {
    scenarios.push_back({{"name", scenario.name},
                         {"verdict", scenario.verdict},
                         {"executions", scenario.executions},
                         {"seconds", scenario.seconds}});
  }
  json mutants = json::array();
  for (const MutantResult& mutant : report.mutants) {
    mutants.push_back({{"name", mutant.name},
                       {"killed", mutant.killed},
                       {"scenario", mutant.scenario},
                       {"counterexample_steps", mutant.counterexample_steps}});
  }
  json document = {{"scenarios", std::move(scenarios)}, {"mutants", std::move(mutants)}};
  // Replace: a name with invalid UTF-8 is written with U+FFFD in its place
  // instead of raising.
  return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

CheckReport report_from_json(std::string_view text) {
  json document = parse(text);
  if (!document.is_object()) fail("(top level)", "expected an object, found " + type_of(document));

  CheckReport report;
  std::set<std::string> seen;
  const json& scenarios = read_array(document, "scenarios");
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    std::string path = "scenarios[" + std::to_string(i) + "]";
    report.scenarios.push_back(read_scenario(scenarios[i], path));
    check_unique(seen, report.scenarios.back().name, path);
  }

  seen.clear();
  const json& mutants = read_array(document, "mutants");
  for (std::size_t i = 0; i < mutants.size(); ++i) {
    std::string path = "mutants[" + std::to_string(i) + "]";
    report.mutants.push_back(read_mutant(mutants[i], path));
    check_unique(seen, report.mutants.back().name, path);
  }
  return report;
}

}  // namespace intr::harness
