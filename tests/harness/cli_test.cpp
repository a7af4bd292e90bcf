// Tests of `intr check` as a user runs it: exit codes, messages that name
// the bad value, replay of a printed schedule, and merging shard reports.
#include <intr/harness/explorer.hpp>
#include <intr/harness/format.hpp>
#include <intr/harness/mutants.hpp>
#include <intr/harness/report.hpp>
#include <intr/harness/scenarios.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

namespace h = intr::harness;

struct Run {
  int status = -1;
  std::string output;  // stdout and stderr together
};

Run run_check(const std::string& arguments) {
  std::string command = std::string(INTR_CLI_PATH) + " check " + arguments + " 2>&1";
  Run run;
  std::FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  std::size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, count);
  int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string temporary_path(const std::string& name) {
  return "/tmp/intr_cli_test_" + std::to_string(getpid()) + "_" + name;
}

}  // namespace

TEST_CASE("check of named scenarios passes with a table") {
  Run run = run_check("wait_vs_wake wait_vs_interrupt");
  CHECK(run.status == 0);
  CHECK(run.output.find("scenario") != std::string::npos);
  CHECK(run.output.find("wait_vs_interrupt") != std::string::npos);
  CHECK(run.output.find("pass") != std::string::npos);
}

TEST_CASE("check exits 1 and prints a replayable schedule for a mutant") {
  Run run = run_check("wait_vs_wake --mutant wake_without_futex_wake");
  CHECK(run.status == 1);
  // The printed command switches the mutant on, so it can be pasted as is.
  const std::string printed = "intr check --mutant wake_without_futex_wake --replay ";
  auto at = run.output.find(printed);
  REQUIRE(at != std::string::npos);
  std::string schedule =
      run.output.substr(at + printed.size(), run.output.find('\n', at) - at - printed.size());

  Run replayed = run_check("--replay " + schedule + " --mutant wake_without_futex_wake");
  CHECK(replayed.status == 1);
  CHECK(replayed.output.find("deadlock") != std::string::npos);
  CHECK(replayed.output.find("sequenceDiagram") != std::string::npos);

  // The correct core takes another path through the same choices: either
  // the schedule no longer fits, which is a usage error, or it passes.
  Run correct = run_check("--replay " + schedule);
  CHECK(correct.status != 1);
  if (correct.status == 2) CHECK(correct.output.find("does not fit scenario wait_vs_wake") != std::string::npos);
}

TEST_CASE("check rejects bad input with exit code 2 and names the value") {
  struct Case {
    const char* arguments;
    const char* named;
  };
  for (const Case& bad : {Case{"no_such_scenario", "no_such_scenario"}, Case{"--strategy bfs", "bfs"},
                          Case{"--replay garbage", "garbage"}, Case{"--replay intr9:wait_vs_wake:0:00000000", "version '9'"},
                          Case{"--shard 4/3", "4/3"}, Case{"--shard x", "'x'"}, Case{"--shard 0/2", "0/2"},
                          Case{"--mutant nothing", "nothing"}, Case{"--merge /nonexistent/report.json", "/nonexistent"},
                          Case{"--step-bound 0", "0"}, Case{"--mutant ''", "empty"},
                          Case{"--replay ''", "empty"}, Case{"--shard ''", "empty"}}) {
    INFO("arguments: " << bad.arguments);
    Run run = run_check(bad.arguments);
    CHECK(run.status == 2);
    CHECK(run.output.find(bad.named) != std::string::npos);
  }
}

TEST_CASE("replay of a schedule for another scenario is a usage error") {
  h::ActiveMutant active(*h::find_mutant("wake_without_futex_wake"));
  const h::Scenario& scenario = *h::find_builtin_scenario("wait_vs_wake");
  h::Result result = h::explore(scenario);
  REQUIRE(result.failure);
  std::string schedule = h::encode_schedule({"late_signal", result.failure->choices});
  Run run = run_check("--replay " + schedule);
  CHECK(run.status == 2);
  CHECK(run.output.find("late_signal") != std::string::npos);
}

TEST_CASE("shard reports merge into the verdict of the full run") {
  std::vector<std::string> files;
  std::string merge = "--merge";
  for (int shard = 1; shard <= 2; ++shard) {
    std::string path = temporary_path("shard" + std::to_string(shard) + ".json");
    Run run = run_check("wait_vs_interrupt late_signal --json --shard " + std::to_string(shard) + "/2 > " + path);
    CHECK(run.status == 0);
    files.push_back(path);
    merge += " " + path;
  }
  Run merged = run_check(merge);
  CHECK(merged.status == 0);
  CHECK(merged.output.find("verdict: pass") != std::string::npos);

  std::ofstream(files[0]) << "{\"scenarios\": [";
  Run broken = run_check(merge);
  CHECK(broken.status == 2);
  CHECK(broken.output.find(files[0]) != std::string::npos);
  for (const std::string& path : files) std::remove(path.c_str());
}

// A demonstration scenario finds its failure in one part of the search, so
// shard 1 explores it whole and the other shards must not fail for it.
TEST_CASE("shards of expected failures pass and merge") {
  std::string merge = "--merge";
  std::vector<std::string> files;
  for (int shard = 1; shard <= 3; ++shard) {
    std::string path = temporary_path("demo" + std::to_string(shard) + ".json");
    Run run = run_check("demo_reason_wake_release wait_vs_wake --json --shard " + std::to_string(shard) + "/3 > " + path);
    CHECK(run.status == 0);
    files.push_back(path);
    merge += " " + path;
  }
  Run merged = run_check(merge);
  CHECK(merged.status == 0);
  CHECK(merged.output.find("verdict: pass") != std::string::npos);
  for (const std::string& path : files) std::remove(path.c_str());
}

TEST_CASE("json output follows the report schema") {
  Run run = run_check("wait_vs_wake --json");
  CHECK(run.status == 0);
  h::CheckReport report = h::report_from_json(run.output);
  REQUIRE(report.scenarios.size() == 1);
  CHECK(report.scenarios[0].name == "wait_vs_wake");
  CHECK(report.scenarios[0].verdict == "pass");
  CHECK(report.scenarios[0].executions > 0);
}
