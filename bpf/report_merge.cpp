#include "report.hpp"

#include <algorithm>
#include <array>

namespace intr::trace {

void merge(Report& total, const Report& later) {
  for (const StageReport& stage : later.stages) {
    auto same = [&stage](const StageReport& entry) { return entry.stage == stage.stage && entry.tid == stage.tid; };
    auto found = std::find_if(total.stages.begin(), total.stages.end(), same);
    if (found == total.stages.end()) {
      total.stages.push_back(stage);
      continue;
    }
    for (std::size_t i = 0; i < log2_bucket_count; ++i) found->histogram[i] += stage.histogram[i];
    found->count += stage.count;
    found->distribution.merge(stage.distribution);
  }
  std::stable_sort(total.stages.begin(), total.stages.end(), [](const StageReport& a, const StageReport& b) {
    return a.stage != b.stage ? a.stage < b.stage : a.tid < b.tid;
  });
  // An empty entry only stands for a stage that has no other entry.
  std::array<bool, stage_count> has_samples{};
  for (const StageReport& entry : total.stages) {
    if (entry.count != 0) has_samples[static_cast<std::size_t>(entry.stage)] = true;
  }
  auto placeholder = [&has_samples](const StageReport& entry) {
    return entry.count == 0 && has_samples[static_cast<std::size_t>(entry.stage)];
  };
  total.stages.erase(std::remove_if(total.stages.begin(), total.stages.end(), placeholder), total.stages.end());

  Counters& sum = total.counters;
  const Counters& add = later.counters;
  sum.ring_buffer_drops += add.ring_buffer_drops;
  for (std::size_t i = 0; i < sum.generate_results.size(); ++i) sum.generate_results[i] += add.generate_results[i];
  sum.guest_returned_before_handler += add.guest_returned_before_handler;
  sum.wait_ended_before_running += add.wait_ended_before_running;
  sum.wait_chains_stale += add.wait_chains_stale;
  sum.chains_replaced += add.chains_replaced;
  sum.negative_deltas += add.negative_deltas;
  sum.histogram_map_full += add.histogram_map_full;
  total.elapsed += later.elapsed;
}

}  // namespace intr::trace
