// Renderings of a tracer Report: text with bcc-style log2 histograms, JSON
// (schema in docs/trace.schema.json) and an SVG picture.
#pragma once

#include "tracer.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

namespace intr::trace {

// The bounds of log2 bucket `index` in nanoseconds, both inclusive.
std::uint64_t bucket_low(std::size_t index);
std::uint64_t bucket_high(std::size_t index);

// "850 ns", "12.4 us", "3.07 ms", "1.20 s".
std::string format_duration(std::uint64_t nanoseconds);

void write_text(std::FILE* out, const Report& report);

// The report as a JSON object; docs/trace.schema.json describes it.
nlohmann::json to_json(const Report& report);

// Adds `later` to `total`: histograms, distributions, counters and time.
// Stages are matched by stage and thread.
void merge(Report& total, const Report& later);

// A standalone SVG picture: one histogram panel per stage (and thread).
std::string to_svg(const Report& report);

}  // namespace intr::trace
