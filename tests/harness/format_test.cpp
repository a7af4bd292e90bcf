// Tests of the model checker's text formats: schedule strings, the JSON
// report, the merge of sharded reports and the JUnit report.
#include <intr/harness/format.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using intr::harness::CheckReport;
using intr::harness::decode_schedule;
using intr::harness::encode_schedule;
using intr::harness::FormatError;
using intr::harness::merge_reports;
using intr::harness::MutantResult;
using intr::harness::report_from_json;
using intr::harness::Schedule;
using intr::harness::ScenarioResult;
using intr::harness::to_json;
using intr::harness::to_junit;
using Catch::Matchers::Contains;

namespace {

constexpr std::uint32_t max_choice = std::numeric_limits<std::uint32_t>::max();

CheckReport sample_report() {
  CheckReport report;
  report.scenarios = {{"wait_interrupt", "pass", 1200, 0.5}, {"guest_interrupt", "fail", 37, 0.25}};
  report.mutants = {{"interrupt_waiter_without_wake", true, "wait_interrupt", 14},
                    {"wake_moves_guest", false, "", 0}};
  return report;
}

}  // namespace

// The exact strings pin the format: a change here breaks every schedule that
// users have saved. The checksums were computed with Python's zlib.crc32.
TEST_CASE("encode_schedule writes the documented format", "[format]") {
  CHECK(encode_schedule({"s", {0, 0, 0, 1}}) == "intr1:s:0B1:f1e1e97c");
  CHECK(encode_schedule({"wait_interrupt", {0, 1, 1, 48, 2}}) == "intr1:wait_interrupt:01A.1c.2:37784fb3");
}

TEST_CASE("encode_schedule writes runs with repeat letters", "[format]") {
  std::string text = encode_schedule({"s", std::vector<std::uint32_t>(31, 0)});
  CHECK(text.substr(0, 12) == "intr1:s:0ZD:");
}

TEST_CASE("decode_schedule reverses encode_schedule", "[format]") {
  std::vector<Schedule> cases{
      {"empty_choices", {}},
      {"small", {0, 1, 2, 35}},
      {"large", {36, 1295, 1296, max_choice, 0}},
      {"long_run", std::vector<std::uint32_t>(100, 7)},
      {"long_run_of_large", std::vector<std::uint32_t>(53, 4000)},
      {"path/with-dots.and_digits9", {3, 3, 2, 2, 1}},
  };
  for (const Schedule& schedule : cases) {
    INFO(schedule.scenario);
    CHECK(decode_schedule(encode_schedule(schedule)) == schedule);
  }
}

TEST_CASE("decode_schedule ignores surrounding whitespace", "[format]") {
  Schedule schedule{"s", {4, 4, 9}};
  CHECK(decode_schedule("  \t" + encode_schedule(schedule) + "\n") == schedule);
}

TEST_CASE("schedule round trip holds for any schedule", "[format][property]") {
  rc::prop("decode(encode(s)) == s", [](const std::vector<std::uint32_t>& choices, bool small) {
    Schedule schedule{"prop", choices};
    if (small) {
      for (std::uint32_t& choice : schedule.choices) choice %= 4;
    }
    RC_ASSERT(decode_schedule(encode_schedule(schedule)) == schedule);
  });
}

// CRC-32 detects every error confined to 32 consecutive bits, so every
// one-character change must be rejected rather than replay another schedule.
TEST_CASE("decode_schedule rejects every one-character change", "[format]") {
  std::string text = encode_schedule({"wait_interrupt", {0, 1, 1, 48, 2, 2, 2}});
  const std::string replacements = "0aZ.:_- x";
  for (std::size_t position = 0; position < text.size(); ++position) {
    for (char replacement : replacements) {
      if (text[position] == replacement) continue;
      std::string changed = text;
      changed[position] = replacement;
      INFO(changed);
      CHECK_THROWS_AS(decode_schedule(changed), FormatError);
    }
  }
}

TEST_CASE("decode_schedule rejects truncated strings", "[format]") {
  std::string text = encode_schedule({"wait_interrupt", {0, 1, 2}});
  for (std::size_t length = 0; length < text.size(); ++length) {
    INFO(text.substr(0, length));
    CHECK_THROWS_AS(decode_schedule(text.substr(0, length)), FormatError);
  }
}

TEST_CASE("decode_schedule names what is wrong", "[format]") {
  SECTION("empty") {
    CHECK_THROWS_WITH(decode_schedule("   "), Contains("schedule is empty"));
  }
  SECTION("wrong prefix") {
    CHECK_THROWS_WITH(decode_schedule("loom:s:0:00000000"), Contains("does not start with 'intr1:'"));
  }
  SECTION("unsupported version") {
    CHECK_THROWS_WITH(decode_schedule("intr2:s:0:00000000"), Contains("version '2' is not supported"));
  }
  SECTION("missing fields") {
    CHECK_THROWS_WITH(decode_schedule("intr1:s"), Contains("too few fields"));
    CHECK_THROWS_WITH(decode_schedule("intr1:s:01"), Contains("checksum"));
  }
  SECTION("bad checksum") {
    CHECK_THROWS_WITH(decode_schedule("intr1:s:0B1:f1e1e97d"),
                      Contains("checksum 'f1e1e97d' does not match") && Contains("expected 'f1e1e97c'"));
  }
}

// Strings with a valid checksum but a malformed body: only a program can
// write them, so each one shows that the parser checks more than the CRC.
TEST_CASE("decode_schedule rejects malformed bodies", "[format]") {
  struct Case {
    std::string body;
    std::string message;
  };
  // The checksums were computed with Python's zlib.crc32 over the text before them.
  std::vector<Case> cases{
      {"intr1:s:0?1:6b70eec7", "invalid character '?' in the choices at position 9"},
      {"intr1:s:A0:b24e1661", "repeat letter 'A' has no choice before it"},
      {"intr1:s:.1z141z4.:df789e2a", "a choice above 4294967295"},
      {"intr1:s:.0a.:0a9eff7a", "leading zero"},
      {"intr1:s:.a.:d4f81d92", "a long choice below 36"},
      {"intr1:s:..:aa245c6a", "an empty long choice"},
      {"intr1:s:.1c:662e7deb", "an unterminated long choice"},
      {"intr1:s:.1C.:aceed36d", "invalid character 'C' in a long choice"},
      {"intr1:s:0:1:16071a82", "too many ':' separators"},
      {"intr1::0:00b5be6e", "the scenario name is empty"},
      {"intr1:a b:0:2bbca3d3", "invalid character ' ' at position 1"},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    CHECK_THROWS_WITH(decode_schedule(c.body), Contains(c.message));
  }
}

TEST_CASE("encode_schedule rejects invalid scenario names", "[format]") {
  CHECK_THROWS_WITH(encode_schedule({"", {}}), Contains("the scenario name is empty"));
  CHECK_THROWS_WITH(encode_schedule({"a:b", {}}), Contains("invalid character ':' at position 1"));
  CHECK_THROWS_WITH(encode_schedule({std::string(201, 'a'), {}}), Contains("longer than 200 characters"));
  CHECK_NOTHROW(encode_schedule({std::string(200, 'a'), {}}));
}

TEST_CASE("report JSON round trip keeps every field", "[format]") {
  CheckReport report = sample_report();
  CHECK(report_from_json(to_json(report)) == report);
  CHECK(report_from_json(to_json(CheckReport{})) == CheckReport{});
}

TEST_CASE("to_json writes the documented field names", "[format]") {
  std::string json = to_json(sample_report());
  CHECK_THAT(json, Contains("\"scenarios\"") && Contains("\"mutants\""));
  CHECK_THAT(json, Contains("\"name\": \"wait_interrupt\"") && Contains("\"verdict\": \"fail\""));
  CHECK_THAT(json, Contains("\"executions\": 1200") && Contains("\"seconds\": 0.5"));
  CHECK_THAT(json, Contains("\"killed\": true") && Contains("\"counterexample_steps\": 14"));
  CHECK_THAT(json, Contains("\"scenario\": \"wait_interrupt\""));
}

TEST_CASE("report_from_json ignores unknown keys", "[format]") {
  CheckReport report = report_from_json(R"({"version": 3, "scenarios": [
      {"name": "a", "verdict": "pass", "executions": 2, "seconds": 1, "schedule": "x"}],
      "mutants": [{"name": "m", "killed": false, "scenario": "", "counterexample_steps": 0, "note": 1}]})");
  REQUIRE(report.scenarios.size() == 1);
  CHECK(report.scenarios[0].seconds == 1.0);
  REQUIRE(report.mutants.size() == 1);
  CHECK_FALSE(report.mutants[0].killed);
}

TEST_CASE("report_from_json names the bad field", "[format]") {
  const std::string scenario_ok = R"({"name": "a", "verdict": "pass", "executions": 1, "seconds": 0.1})";
  auto with_scenario = [](const std::string& scenario) {
    return R"({"scenarios": [)" + scenario + R"(], "mutants": []})";
  };
  struct Case {
    std::string json;
    std::string message;
  };
  std::vector<Case> cases{
      {"", "invalid JSON"},
      {"{\"scenarios\": [", "invalid JSON"},
      {"[]", "(top level): expected an object, found array"},
      {R"({"scenarios": [{"seconds": 2e308}], "mutants": []})", "invalid JSON"},
      {R"({"mutants": []})", "the field \"scenarios\" is missing"},
      {R"({"scenarios": []})", "the field \"mutants\" is missing"},
      {R"({"scenarios": {}, "mutants": []})", "scenarios: expected an array, found object"},
      {with_scenario("3"), "scenarios[0]: expected an object, found the number 3"},
      {with_scenario(R"({"verdict": "pass", "executions": 1, "seconds": 0})"), "scenarios[0]: the field \"name\""},
      {with_scenario(R"({"name": "", "verdict": "pass", "executions": 1, "seconds": 0})"), "the name is empty"},
      {with_scenario(R"({"name": 5, "verdict": "pass", "executions": 1, "seconds": 0})"),
       "scenarios[0].name: expected a string, found the number 5"},
      {with_scenario(R"({"name": "a", "verdict": "passed", "executions": 1, "seconds": 0})"),
       "scenarios[0].verdict: the verdict \"passed\" is unknown"},
      {with_scenario(R"({"name": "a", "verdict": "pass", "executions": -1, "seconds": 0})"),
       "scenarios[0].executions: expected a non-negative integer, found the negative number -1"},
      {with_scenario(R"({"name": "a", "verdict": "pass", "executions": 1.5, "seconds": 0})"),
       "scenarios[0].executions: expected a non-negative integer, found the number 1.5"},
      {with_scenario(R"({"name": "a", "verdict": "pass", "executions": 1, "seconds": -0.5})"),
       "scenarios[0].seconds: expected a finite, non-negative number"},
      {with_scenario(R"({"name": "a", "verdict": "pass", "executions": 1, "seconds": "1"})"),
       "scenarios[0].seconds: expected a number of seconds, found the string \"1\""},
      {with_scenario(scenario_ok + "," + scenario_ok), "scenarios[1].name: the name \"a\" appears twice"},
      {R"({"scenarios": [], "mutants": [{"name": "m", "killed": 1, "scenario": "", "counterexample_steps": 0}]})",
       "mutants[0].killed: expected true or false, found the number 1"},
      {R"({"scenarios": [], "mutants": [{"name": "m", "killed": true, "counterexample_steps": 0}]})",
       "mutants[0]: the field \"scenario\" is missing"},
      {R"({"scenarios": [], "mutants": [[[[[[[[[[1]]]]]]]]]]})", "nests deeper than 8 levels"},
  };
  for (const Case& c : cases) {
    INFO(c.json);
    CHECK_THROWS_WITH(report_from_json(c.json), Contains(c.message));
  }
}

TEST_CASE("merge_reports adds up shards", "[format]") {
  CheckReport first = sample_report();
  CheckReport second = sample_report();
  second.scenarios[0] = {"wait_interrupt", "fail", 800, 1.5};
  second.scenarios[1] = {"guest_interrupt", "pass", 3, 0.25};
  second.mutants[0] = {"interrupt_waiter_without_wake", true, "guest_interrupt", 9};
  second.mutants[1] = {"wake_moves_guest", true, "guest_interrupt", 20};

  CheckReport merged = merge_reports({first, second});

  REQUIRE(merged.scenarios.size() == 2);
  CHECK(merged.scenarios[0].name == "wait_interrupt");
  CHECK(merged.scenarios[0].verdict == "fail");
  CHECK(merged.scenarios[0].executions == 2000);
  CHECK(merged.scenarios[0].seconds == Approx(2.0));
  CHECK(merged.scenarios[1].verdict == "fail");
  CHECK(merged.scenarios[1].executions == 40);

  REQUIRE(merged.mutants.size() == 2);
  CHECK(merged.mutants[0] == MutantResult{"interrupt_waiter_without_wake", true, "guest_interrupt", 9});
  CHECK(merged.mutants[1] == MutantResult{"wake_moves_guest", true, "guest_interrupt", 20});
}

TEST_CASE("merge_reports keeps the first shortest counterexample", "[format]") {
  CheckReport first;
  first.mutants = {{"m", true, "a", 5}};
  CheckReport second;
  second.mutants = {{"m", true, "b", 5}};
  CheckReport third;
  third.mutants = {{"m", false, "", 0}};
  CHECK(merge_reports({third, first, second}).mutants[0] == MutantResult{"m", true, "a", 5});
}

TEST_CASE("merge_reports matches names in any order", "[format]") {
  CheckReport first;
  first.scenarios = {{"a", "pass", 1, 0}, {"b", "pass", 2, 0}};
  CheckReport second;
  second.scenarios = {{"b", "fail", 3, 0}, {"a", "pass", 4, 0}};
  CheckReport merged = merge_reports({first, second});
  CHECK(merged.scenarios[0] == ScenarioResult{"a", "pass", 5, 0});
  CHECK(merged.scenarios[1] == ScenarioResult{"b", "fail", 5, 0});
}

TEST_CASE("merge_reports rejects reports of different runs", "[format]") {
  CheckReport first;
  first.scenarios = {{"a", "pass", 1, 0}};
  first.mutants = {{"m", false, "", 0}};

  SECTION("no reports") {
    CHECK_THROWS_WITH(merge_reports({}), Contains("no reports to merge"));
  }
  SECTION("scenario missing from a later shard") {
    CheckReport second = first;
    second.scenarios.clear();
    CHECK_THROWS_WITH(merge_reports({first, second}), Contains("scenario 'a' is in shard 0 but missing from shard 1"));
  }
  SECTION("scenario missing from the first shard") {
    CheckReport second = first;
    second.scenarios.push_back({"b", "pass", 1, 0});
    CHECK_THROWS_WITH(merge_reports({first, second}), Contains("scenario 'b' is in shard 1 but missing from shard 0"));
  }
  SECTION("mutant missing") {
    CheckReport second = first;
    second.mutants[0].name = "n";
    CHECK_THROWS_WITH(merge_reports({first, second}), Contains("mutant 'm' is in shard 0 but missing from shard 1"));
  }
  SECTION("executions overflow") {
    CheckReport second = first;
    first.scenarios[0].executions = std::numeric_limits<std::uint64_t>::max();
    CHECK_THROWS_WITH(merge_reports({first, second}), Contains("add up to more than 2^64 - 1"));
  }
  SECTION("repeated name") {
    CheckReport second = first;
    second.scenarios.push_back(second.scenarios[0]);
    CHECK_THROWS_WITH(merge_reports({first, second}), Contains("scenario 'a' appears twice in shard 1"));
  }
}

TEST_CASE("to_junit counts failures and survivors", "[format]") {
  std::string xml = to_junit(sample_report());
  CHECK_THAT(xml, Contains("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
  CHECK_THAT(xml, Contains("<testsuite name=\"intr check\" tests=\"4\" failures=\"2\""));
  CHECK_THAT(xml, Contains("<testcase classname=\"scenario\" name=\"wait_interrupt\" time=\"0.500\">"));
  CHECK_THAT(xml, Contains("<failure message=\"scenario guest_interrupt failed\""));
  CHECK_THAT(xml, Contains("killed by scenario wait_interrupt in 14 steps"));
  CHECK_THAT(xml, Contains("<failure message=\"mutant wake_moves_guest survived\""));
}

TEST_CASE("to_junit escapes names", "[format]") {
  CheckReport report;
  report.scenarios = {{"a<b>&\"c'\x01", "pass", 1, 0}};
  std::string xml = to_junit(report);
  CHECK_THAT(xml, Contains("name=\"a&lt;b&gt;&amp;&quot;c&apos;\xEF\xBF\xBD\""));
}
