#include "report.hpp"

#include <nlohmann/json.hpp>

namespace intr::trace {
namespace {

using nlohmann::json;

// The non-empty log2 buckets, each with its bounds.
json histogram_json(const StageReport& stage) {
  json buckets = json::array();
  for (std::size_t i = 0; i < log2_bucket_count; ++i) {
    if (stage.histogram[i] == 0) continue;
    buckets.push_back({{"low_ns", bucket_low(i)}, {"high_ns", bucket_high(i)}, {"count", stage.histogram[i]}});
  }
  return buckets;
}

json stage_json(const StageReport& stage, const Report& report) {
  const StageInfo& info = stage_info(stage.stage);
  json entry{{"name", info.name}, {"description", info.description}, {"count", stage.count}};
  if (report.per_thread) entry["tid"] = stage.tid;
  const LatencyDistribution& d = stage.distribution;
  bool known = report.percentiles && d.count() > 0;
  auto percentile = [&](double quantile) { return known ? json(d.value_at(quantile)) : json(nullptr); };
  entry["samples"] = d.count();
  entry["min_ns"] = known ? json(d.min()) : json(nullptr);
  entry["p50_ns"] = percentile(0.50);
  entry["p90_ns"] = percentile(0.90);
  entry["p99_ns"] = percentile(0.99);
  entry["p999_ns"] = percentile(0.999);
  entry["max_ns"] = known ? json(d.max()) : json(nullptr);
  entry["histogram"] = histogram_json(stage);
  return entry;
}

json counters_json(const Counters& c) {
  json generated = json::object();
  for (std::size_t i = 0; i < c.generate_results.size(); ++i) generated[std::string(generate_result_names[i])] = c.generate_results[i];
  return {{"signal_generate", generated},
          {"guest_returned_before_handler", c.guest_returned_before_handler},
          {"wait_ended_before_running", c.wait_ended_before_running},
          {"wait_chains_stale", c.wait_chains_stale},
          {"chains_replaced", c.chains_replaced},
          {"negative_deltas", c.negative_deltas},
          {"histogram_map_full", c.histogram_map_full}};
}

}  // namespace

json to_json(const Report& report) {
  json stages = json::array();
  for (const StageReport& stage : report.stages) stages.push_back(stage_json(stage, report));
  json document{{"elapsed_ns", report.elapsed.count()},
                {"attach", report.attach_mode},
                {"per_thread", report.per_thread},
                {"percentiles", report.percentiles},
                {"stages", std::move(stages)},
                {"drops", report.counters.ring_buffer_drops},
                {"counters", counters_json(report.counters)}};
  return document;
}

}  // namespace intr::trace
