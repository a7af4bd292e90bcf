// Report renderings: bucket bounds, durations, JSON fields, merging, SVG.
#include <report.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace intr::trace;

namespace {

Report sample_report() {
  Report report;
  report.percentiles = true;
  report.attach_mode = "tp_btf";
  report.elapsed = std::chrono::seconds(2);
  StageReport stage;
  stage.stage = Stage::generate_to_deliver;
  stage.histogram[10] = 3;  // 1024 to 2047 ns
  stage.histogram[12] = 1;  // 4096 to 8191 ns
  stage.count = 4;
  for (std::uint64_t value : {1100, 1500, 2000, 5000}) stage.distribution.add(value);
  report.stages.push_back(stage);
  report.counters.generate_results[0] = 4;
  return report;
}

}  // namespace

TEST_CASE("bucket bounds cover every value once") {
  CHECK(bucket_low(0) == 0);
  CHECK(bucket_high(0) == 1);
  for (std::size_t i = 1; i + 1 < log2_bucket_count; ++i) {
    INFO("bucket " << i);
    CHECK(bucket_low(i) == bucket_high(i - 1) + 1);
    CHECK(bucket_high(i) == 2 * bucket_low(i) - 1);
  }
  CHECK(bucket_high(log2_bucket_count - 1) == UINT64_MAX);
}

TEST_CASE("format duration picks a unit") {
  CHECK(format_duration(850) == "850 ns");
  CHECK(format_duration(12'400) == "12.4 us");
  CHECK(format_duration(3'070'000) == "3.07 ms");
  CHECK(format_duration(1'200'000'000) == "1.20 s");
}

TEST_CASE("json report has the schema fields") {
  nlohmann::json document = to_json(sample_report());
  REQUIRE(document["stages"].size() == 1);
  const nlohmann::json& stage = document["stages"][0];
  CHECK(stage["name"] == "generate_to_deliver");
  CHECK(stage["count"] == 4);
  CHECK(stage["samples"] == 4);
  CHECK(stage["min_ns"] == 1100);
  CHECK(stage["max_ns"] == 5000);
  CHECK(stage["p50_ns"].get<std::uint64_t>() >= 1500);
  REQUIRE(stage["histogram"].size() == 2);
  CHECK(stage["histogram"][0]["low_ns"] == 1024);
  CHECK(stage["histogram"][0]["high_ns"] == 2047);
  CHECK(stage["histogram"][0]["count"] == 3);
  CHECK(document["drops"] == 0);
  CHECK(document["counters"]["signal_generate"]["delivered"] == 4);
  CHECK_FALSE(stage.contains("tid"));
}

TEST_CASE("json report without percentiles has nulls") {
  Report report = sample_report();
  report.percentiles = false;
  nlohmann::json stage = to_json(report)["stages"][0];
  CHECK(stage["p50_ns"].is_null());
  CHECK(stage["max_ns"].is_null());
  CHECK(stage["count"] == 4);
}

TEST_CASE("merge adds histograms counters and time") {
  Report total = sample_report();
  merge(total, sample_report());
  REQUIRE(total.stages.size() == 1);
  CHECK(total.stages[0].count == 8);
  CHECK(total.stages[0].histogram[10] == 6);
  CHECK(total.stages[0].distribution.count() == 8);
  CHECK(total.counters.generate_results[0] == 8);
  CHECK(total.elapsed == std::chrono::seconds(4));
}

TEST_CASE("merge replaces an empty placeholder") {
  Report total;
  total.per_thread = true;
  total.stages.push_back(StageReport{Stage::guest_total, 0, {}, 0, {}});
  Report later;
  StageReport stage;
  stage.stage = Stage::guest_total;
  stage.tid = 42;
  stage.count = 1;
  stage.histogram[5] = 1;
  later.stages.push_back(stage);
  merge(total, later);
  REQUIRE(total.stages.size() == 1);
  CHECK(total.stages[0].tid == 42);
}

TEST_CASE("svg picture escapes text and has a panel per stage") {
  Report report = sample_report();
  std::string picture = to_svg(report);
  CHECK(picture.rfind("<?xml", 0) == 0);
  CHECK(picture.find("</svg>") != std::string::npos);
  CHECK(picture.find("generate_to_deliver") != std::string::npos);
  CHECK(picture.find("&lt;") == std::string::npos);
  CHECK(picture.find("<rect") != std::string::npos);
}
