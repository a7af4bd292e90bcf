// The JUnit XML report of `intr check --junit FILE`, for CI systems that
// show test results from JUnit files.
#include <intr/harness/format.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace intr::harness {
namespace {

// Escapes `text` for an XML attribute or text node. Control characters that
// XML 1.0 forbids even as references become U+FFFD.
std::string escape_xml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\xEF\xBF\xBD";
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

std::string format_seconds(double seconds) {
  char buffer[320];  // fits "%.3f" of the largest double
  std::snprintf(buffer, sizeof buffer, "%.3f", seconds);
  return buffer;
}

void append_scenario(std::string& out, const ScenarioResult& scenario) {
  out += "    <testcase classname=\"scenario\" name=\"" + escape_xml(scenario.name) + "\" time=\"" +
         format_seconds(scenario.seconds) + "\"";
  std::string summary = std::to_string(scenario.executions) + " executions explored";
  if (scenario.verdict == verdict_pass) {
    out += ">\n      <system-out>" + summary + "</system-out>\n    </testcase>\n";
    return;
  }
  out += ">\n      <failure message=\"scenario " + escape_xml(scenario.name) + " failed\" type=\"" +
         escape_xml(scenario.verdict) + "\">" + summary +
         "; the output of `intr check` shows the schedule to replay</failure>\n    </testcase>\n";
}

void append_mutant(std::string& out, const MutantResult& mutant) {
  out += "    <testcase classname=\"mutant\" name=\"" + escape_xml(mutant.name) + "\" time=\"0.000\"";
  if (mutant.killed) {
    out += ">\n      <system-out>killed by scenario " + escape_xml(mutant.scenario) + " in " +
           std::to_string(mutant.counterexample_steps) + " steps</system-out>\n    </testcase>\n";
    return;
  }
  out += ">\n      <failure message=\"mutant " + escape_xml(mutant.name) +
         " survived\" type=\"survived\">no scenario caught this deliberately broken variant, so a check has no "
         "teeth</failure>\n    </testcase>\n";
}

}  // namespace

std::string to_junit(const CheckReport& report) {
  std::size_t failures = 0;
  double seconds = 0;
  for (const ScenarioResult& scenario : report.scenarios) {
    if (scenario.verdict != verdict_pass) ++failures;
    seconds += scenario.seconds;
  }
  for (const MutantResult& mutant : report.mutants) {
    if (!mutant.killed) ++failures;
  }
  std::string tests = std::to_string(report.scenarios.size() + report.mutants.size());

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"intr check\" tests=\"" + tests + "\" failures=\"" + std::to_string(failures) +
         "\" errors=\"0\" time=\"" + format_seconds(seconds) + "\">\n";
  out += "  <testsuite name=\"intr check\" tests=\"" + tests + "\" failures=\"" + std::to_string(failures) +
         "\" errors=\"0\" skipped=\"0\" time=\"" + format_seconds(seconds) + "\">\n";
  for (const ScenarioResult& scenario : report.scenarios) append_scenario(out, scenario);
  for (const MutantResult& mutant : report.mutants) append_mutant(out, mutant);
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace intr::harness
