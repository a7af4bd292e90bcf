#include <intr/harness/format.hpp>
#include <intr/harness/report.hpp>

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

namespace intr::harness {

namespace {

std::string pad(std::string_view text, std::size_t width) {
  std::string padded(text);
  if (padded.size() < width) padded.append(width - padded.size(), ' ');
  return padded;
}

// Mermaid participant ids may not contain parentheses or '#'.
std::string participant_id(std::string_view name) {
  std::string id;
  for (char c : name) id += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
  return id;
}

}  // namespace

std::string schedule_string(const Scenario& scenario, const Failure& failure) {
  return encode_schedule({scenario.name, failure.choices});
}

std::string step_table(const Failure& failure) {
  std::vector<std::string> headers{"step", "thread", "operation", "location", "before", "after"};
  std::vector<std::vector<std::string>> rows;
  for (const Step& step : failure.steps) {
    rows.push_back({std::to_string(step.index), step.thread, step.operation, step.location, step.before, step.after});
  }
  std::vector<std::size_t> widths;
  for (const std::string& header : headers) widths.push_back(header.size());
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      text += i + 1 < cells.size() ? pad(cells[i], widths[i] + 2) : cells[i];
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text + "\n";
  };
  std::string table = line(headers);
  for (const auto& row : rows) table += line(row);
  return table;
}

std::string sequence_diagram(const Failure& failure) {
  std::vector<std::string> threads;
  std::vector<std::string> locations;
  for (const Step& step : failure.steps) {
    if (std::find(threads.begin(), threads.end(), step.thread) == threads.end()) threads.push_back(step.thread);
    if (!step.location.empty() && std::find(locations.begin(), locations.end(), step.location) == locations.end()) {
      locations.push_back(step.location);
    }
  }
  std::string diagram = "sequenceDiagram\n";
  for (const std::string& thread : threads) {
    diagram += "  participant " + participant_id(thread) + " as " + thread + "\n";
  }
  for (const std::string& location : locations) {
    diagram += "  participant " + participant_id(location) + " as " + location + "\n";
  }
  for (const Step& step : failure.steps) {
    std::string from = participant_id(step.thread);
    if (step.location.empty()) {
      diagram += "  Note over " + from + ": " + step.operation + "\n";
      continue;
    }
    std::string text = step.operation;
    if (!step.before.empty()) text += " " + step.before + " -> " + step.after;
    std::replace(text.begin(), text.end(), ';', ',');
    diagram += "  " + from + "->>" + participant_id(step.location) + ": " + text + "\n";
  }
  std::string what = std::string(to_string(failure.kind)) + " failure";
  std::string where = !failure.thread.empty() ? failure.thread : threads.empty() ? "setup" : threads.front();
  if (std::find(threads.begin(), threads.end(), where) == threads.end()) {
    diagram += "  participant " + participant_id(where) + " as " + where + "\n";
  }
  diagram += "  Note over " + participant_id(where) + ": " + what + "\n";
  return diagram;
}

std::string failure_report(const Scenario& scenario, const Failure& failure, std::string_view mutant) {
  std::string report = "scenario: " + scenario.name + "\n";
  report += "replay:   intr check ";
  if (!mutant.empty()) report += "--mutant " + std::string(mutant) + " ";
  report += "--replay " + schedule_string(scenario, failure) + "\n";
  report += "failure:  " + std::string(to_string(failure.kind));
  if (!failure.thread.empty()) report += " in thread " + failure.thread;
  report += ": " + failure.message + "\n";
  report += "schedule: " + std::to_string(failure.choices.size()) + " choices, " +
            std::to_string(failure.preemptions) + " preemptions";
  if (failure.original_preemptions != failure.preemptions) {
    report += " (shrunk from " + std::to_string(failure.original_preemptions) + ")";
  }
  report += "\n\nsteps:\n" + step_table(failure);
  report += "\nmermaid:\n" + sequence_diagram(failure);
  return report;
}

}  // namespace intr::harness
