#include "report.hpp"

#include <algorithm>
#include <sstream>

namespace intr::trace {
namespace {

constexpr int picture_width = 760;
constexpr int panel_height = 170;
constexpr int plot_left = 70;
constexpr int plot_right = 20;
constexpr int plot_top = 48;
constexpr int plot_height = 90;

std::string escape(std::string_view text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      case '"': escaped += "&quot;"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

// The bucket range that every panel shows, so that panels line up.
std::pair<std::size_t, std::size_t> shared_range(const Report& report) {
  std::size_t first = log2_bucket_count;
  std::size_t last = 0;
  for (const StageReport& stage : report.stages) {
    for (std::size_t i = 0; i < log2_bucket_count; ++i) {
      if (stage.histogram[i] == 0) continue;
      first = std::min(first, i);
      last = std::max(last, i);
    }
  }
  if (first > last) return {6, 20};  // nothing recorded: 64 ns to 2 ms
  if (last - first < 7) last = std::min(log2_bucket_count - 1, first + 7);
  return {first, last};
}

std::string summary_line(const StageReport& stage, bool percentiles) {
  std::string line = "count " + std::to_string(stage.count);
  const LatencyDistribution& d = stage.distribution;
  if (percentiles && d.count() > 0) {
    line += "   p50 " + format_duration(d.value_at(0.5)) + "   p90 " + format_duration(d.value_at(0.9)) + "   p99 " +
            format_duration(d.value_at(0.99)) + "   p99.9 " + format_duration(d.value_at(0.999)) + "   max " +
            format_duration(d.max());
  }
  return line;
}

void draw_panel(std::ostringstream& svg, const StageReport& stage, const Report& report, int top,
                std::pair<std::size_t, std::size_t> range) {
  const StageInfo& info = stage_info(stage.stage);
  const char* colour = info.guest ? "#3b6ea8" : "#b5651d";
  std::string title = std::string(info.name) + ": " + std::string(info.description);
  if (report.per_thread) title += " [tid " + std::to_string(stage.tid) + "]";
  svg << "<g transform=\"translate(0," << top << ")\">\n";
  svg << "<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">" << escape(title) << "</text>\n";
  svg << "<text x=\"10\" y=\"36\" font-size=\"12\" fill=\"#444\">" << escape(summary_line(stage, report.percentiles))
      << "</text>\n";

  auto [first, last] = range;
  std::size_t buckets = last - first + 1;
  double slot = static_cast<double>(picture_width - plot_left - plot_right) / static_cast<double>(buckets);
  std::uint64_t peak = 1;
  for (std::size_t i = first; i <= last; ++i) peak = std::max(peak, stage.histogram[i]);
  int baseline = plot_top + plot_height;
  svg << "<line x1=\"" << plot_left << "\" y1=\"" << baseline << "\" x2=\"" << picture_width - plot_right << "\" y2=\""
      << baseline << "\" stroke=\"#888\"/>\n";
  svg << "<text x=\"" << plot_left - 6 << "\" y=\"" << plot_top + 10 << "\" font-size=\"10\" text-anchor=\"end\">"
      << peak << "</text>\n";
  svg << "<text x=\"" << plot_left - 6 << "\" y=\"" << baseline << "\" font-size=\"10\" text-anchor=\"end\">0</text>\n";
  for (std::size_t i = first; i <= last; ++i) {
    double x = plot_left + slot * static_cast<double>(i - first);
    double height = static_cast<double>(stage.histogram[i]) / static_cast<double>(peak) * plot_height;
    if (stage.histogram[i] > 0) {
      svg << "<rect x=\"" << x + 1 << "\" y=\"" << baseline - height << "\" width=\"" << slot - 2 << "\" height=\""
          << height << "\" fill=\"" << colour << "\"><title>" << bucket_low(i) << " to " << bucket_high(i)
          << " ns: " << stage.histogram[i] << "</title></rect>\n";
    }
    if ((i - first) % 2 == 0) {
      svg << "<text x=\"" << x + slot / 2 << "\" y=\"" << baseline + 14
          << "\" font-size=\"9\" text-anchor=\"middle\">" << escape(format_duration(bucket_low(i))) << "</text>\n";
    }
  }
  svg << "</g>\n";
}

}  // namespace

std::string to_svg(const Report& report) {
  int height = 40 + panel_height * static_cast<int>(std::max<std::size_t>(report.stages.size(), 1));
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << picture_width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << picture_width << ' ' << height << "\" font-family=\"sans-serif\">\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  char heading[160];
  std::snprintf(heading, sizeof heading, "intr trace: latency per stage, log2 buckets of nanoseconds (%.2f s, %s)",
                static_cast<double>(report.elapsed.count()) / 1e9, report.attach_mode.c_str());
  svg << "<text x=\"10\" y=\"24\" font-size=\"16\">" << escape(heading) << "</text>\n";
  auto range = shared_range(report);
  int top = 40;
  for (const StageReport& stage : report.stages) {
    draw_panel(svg, stage, report, top, range);
    top += panel_height;
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace intr::trace
