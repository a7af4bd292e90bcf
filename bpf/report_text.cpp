#include "report.hpp"

#include <algorithm>
#include <cinttypes>

namespace intr::trace {
namespace {

constexpr int bar_width = 40;

void write_histogram(std::FILE* out, const StageReport& stage) {
  std::size_t first = log2_bucket_count;
  std::size_t last = 0;
  std::uint64_t peak = 0;
  for (std::size_t i = 0; i < log2_bucket_count; ++i) {
    if (stage.histogram[i] == 0) continue;
    first = std::min(first, i);
    last = i;
    peak = std::max(peak, stage.histogram[i]);
  }
  if (peak == 0) {
    std::fprintf(out, "  (no samples)\n");
    return;
  }
  std::fprintf(out, "%24s : %-10s distribution\n", "nsecs", "count");
  for (std::size_t i = first; i <= last; ++i) {
    std::uint64_t value = stage.histogram[i];
    int stars = static_cast<int>((value * bar_width + peak - 1) / peak);
    char range[48];
    std::snprintf(range, sizeof range, "%" PRIu64 " -> %" PRIu64, bucket_low(i), bucket_high(i));
    std::fprintf(out, "%24s : %-10" PRIu64 " |%-*.*s|\n", range, value, bar_width, stars,
                 "****************************************");
  }
}

void write_summary(std::FILE* out, const StageReport& stage, bool percentiles) {
  std::fprintf(out, "  count %" PRIu64, stage.count);
  const LatencyDistribution& d = stage.distribution;
  if (percentiles && d.count() > 0) {
    std::fprintf(out, "  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s", format_duration(d.value_at(0.50)).c_str(),
                 format_duration(d.value_at(0.90)).c_str(), format_duration(d.value_at(0.99)).c_str(),
                 format_duration(d.value_at(0.999)).c_str(), format_duration(d.max()).c_str());
  }
  std::fprintf(out, "\n");
}

void write_counters(std::FILE* out, const Report& report) {
  const Counters& c = report.counters;
  std::fprintf(out, "signals generated:");
  for (std::size_t i = 0; i < c.generate_results.size(); ++i) {
    std::string_view name = generate_result_names[i];
    std::fprintf(out, " %.*s %" PRIu64 "%s", static_cast<int>(name.size()), name.data(), c.generate_results[i],
                 i + 1 < c.generate_results.size() ? "," : "\n");
  }
  std::fprintf(out,
               "incomplete chains: guest back before handler %" PRIu64 ", wait ended before running %" PRIu64
               ", stale wait %" PRIu64 ", replaced %" PRIu64 ", negative delta %" PRIu64 "\n",
               c.guest_returned_before_handler, c.wait_ended_before_running, c.wait_chains_stale, c.chains_replaced,
               c.negative_deltas);
  std::fprintf(out, "ring buffer drops: %" PRIu64 "\n", c.ring_buffer_drops);
  if (c.histogram_map_full > 0) {
    std::fprintf(out, "samples lost to a full histogram map: %" PRIu64 " (too many threads for -L)\n",
                 c.histogram_map_full);
  }
}

}  // namespace

std::uint64_t bucket_low(std::size_t index) { return index == 0 ? 0 : std::uint64_t{1} << index; }

std::uint64_t bucket_high(std::size_t index) {
  if (index + 1 >= log2_bucket_count) return UINT64_MAX;
  return index == 0 ? 1 : (std::uint64_t{1} << (index + 1)) - 1;
}

std::string format_duration(std::uint64_t nanoseconds) {
  char text[32];
  auto value = static_cast<double>(nanoseconds);
  if (nanoseconds < 1'000) {
    std::snprintf(text, sizeof text, "%" PRIu64 " ns", nanoseconds);
  } else if (nanoseconds < 1'000'000) {
    std::snprintf(text, sizeof text, "%.1f us", value / 1e3);
  } else if (nanoseconds < 1'000'000'000) {
    std::snprintf(text, sizeof text, "%.2f ms", value / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.2f s", value / 1e9);
  }
  return text;
}

void write_text(std::FILE* out, const Report& report) {
  std::fprintf(out, "intr trace: %.2f s, %s tracepoints\n", static_cast<double>(report.elapsed.count()) / 1e9,
               report.attach_mode.c_str());
  for (const StageReport& stage : report.stages) {
    const StageInfo& info = stage_info(stage.stage);
    std::fprintf(out, "\n%.*s: %.*s", static_cast<int>(info.name.size()), info.name.data(),
                 static_cast<int>(info.description.size()), info.description.data());
    if (report.per_thread) std::fprintf(out, " [tid %u]", stage.tid);
    std::fprintf(out, "\n");
    write_histogram(out, stage);
    write_summary(out, stage, report.percentiles);
  }
  std::fprintf(out, "\n");
  write_counters(out, report);
}

}  // namespace intr::trace
