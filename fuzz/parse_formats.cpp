// Fuzz target: the parsers of the model checker's text formats.
//
// Each input is read as a schedule string, as the same text with a valid
// checksum appended (so that mutations reach the choice parser instead of
// stopping at the CRC), and as a JSON report. Whatever parses must survive a
// round trip unchanged, and merging a report with itself must double its
// counts. Anything other than a FormatError escaping is a bug.
#include <intr/harness/format.hpp>

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using intr::harness::CheckReport;
using intr::harness::FormatError;
using intr::harness::Schedule;

[[noreturn]] void report_bug(const char* what) {
  std::fprintf(stderr, "parse_formats: %s\n", what);
  std::abort();
}

std::string with_checksum(std::string_view body) {
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, ":%08lx", crc & 0xffffffffUL);
  return std::string(body) + suffix;
}

void check_schedule(std::string_view text) {
  Schedule schedule;
  try {
    schedule = intr::harness::decode_schedule(text);
  } catch (const FormatError&) {
    return;
  }
  std::string encoded = intr::harness::encode_schedule(schedule);
  if (intr::harness::decode_schedule(encoded) != schedule) report_bug("a schedule changed in a round trip");
  if (intr::harness::encode_schedule(intr::harness::decode_schedule(encoded)) != encoded) {
    report_bug("encode_schedule is not canonical");
  }
}

void check_merge(const CheckReport& report) {
  CheckReport merged;
  try {
    merged = intr::harness::merge_reports({report, report});
  } catch (const FormatError&) {
    return;  // a count that overflows when doubled
  }
  for (std::size_t i = 0; i < report.scenarios.size(); ++i) {
    if (merged.scenarios[i].executions != 2 * report.scenarios[i].executions) {
      report_bug("merging a report with itself did not double its executions");
    }
    if (merged.scenarios[i].verdict != report.scenarios[i].verdict) report_bug("merging changed a verdict");
  }
  for (std::size_t i = 0; i < report.mutants.size(); ++i) {
    if (merged.mutants[i] != report.mutants[i]) report_bug("merging a report with itself changed a mutant");
  }
}

void check_report(std::string_view text) {
  CheckReport report;
  try {
    report = intr::harness::report_from_json(text);
  } catch (const FormatError&) {
    return;
  }
  if (intr::harness::report_from_json(intr::harness::to_json(report)) != report) {
    report_bug("a report changed in a JSON round trip");
  }
  if (intr::harness::to_junit(report).find("</testsuites>") == std::string::npos) {
    report_bug("to_junit wrote an unterminated document");
  }
  check_merge(report);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_schedule(text);
  if (text.substr(0, 6) == "intr1:") check_schedule(with_checksum(text));
  check_report(text);
  return 0;
}
