// `intr trace`: the eBPF latency tracer of interrupt delivery. It traces a
// running process (-p), a command that it starts (-- COMMAND), or, with no
// target, the built-in workload of `intr demo` in its own process.
#include "command.hpp"
#include "trace_session.hpp"
#include "workload.hpp"

#include <report.hpp>
#include <tracer.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>

namespace intr::tools {
namespace {

constexpr double max_seconds = 86400.0;

// Accepts a number of seconds above 0 and at most a day.
CLI::Validator seconds_validator(const std::string& option) {
  return CLI::Validator(
      [option](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        double value = std::strtod(text.c_str(), &end);
        if (text.empty() || errno != 0 || end != text.c_str() + text.size() || !std::isfinite(value) || value <= 0.0 ||
            value > max_seconds) {
          return option + " '" + text + "' is invalid: give seconds as a number above 0 and at most 86400 (2, 0.5)";
        }
        return {};
      },
      "SECONDS");
}

CLI::Validator positive_id_validator(const std::string& id_name) {
  return CLI::Validator(
      [id_name](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        long value = std::strtol(text.c_str(), &end, 10);
        if (text.empty() || errno != 0 || end != text.c_str() + text.size() || value <= 0 || value > 4194304) {
          return "'" + text + "' is not a " + id_name + ": give a positive number, as ps or /proc shows it";
        }
        return {};
      },
      id_name);
}

CLI::Validator stage_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (trace::parse_stage(text)) return {};
        std::string names;
        for (const trace::StageInfo& info : trace::all_stages()) names += " " + std::string(info.name);
        return "'" + text + "' is not a stage; choose from:" + names;
      },
      "NAME");
}

std::string stage_help() {
  std::string help = "report only this stage; repeat it or join names with commas (default: all):";
  for (const trace::StageInfo& info : trace::all_stages()) {
    help += "\n  " + std::string(info.name) + ": " + std::string(info.description);
  }
  return help;
}

// Adds the options that choose the target and how long to trace it.
void add_target_options(CLI::App& trace, TraceOptions& options) {
  trace.add_option("-p,--pid", options.pid, "trace the process with this PID")->check(positive_id_validator("PID"));
  trace.add_option("-t,--tid", options.tid, "only interrupts and wake-ups aimed at this thread")
      ->check(positive_id_validator("TID"));
  trace.add_option("-d,--duration", options.duration_seconds,
                   "stop after this many seconds (default: 2 for the built-in workload, else until Ctrl-C or the "
                   "process exits)")
      ->check(seconds_validator("--duration"));
  // After --, every argument belongs to the command, options included.
  trace.add_option("command", options.command, "the command to start and trace, after --");
}

void add_output_options(CLI::App& trace, TraceOptions& options) {
  trace.add_option("-i,--interval", options.interval_seconds, "print and reset the histograms every SECONDS")
      ->check(seconds_validator("--interval"));
  trace.add_flag("-L,--per-thread", options.per_thread, "one histogram per target thread");
  // One name per --stage, or several joined by commas, so that a list never
  // swallows the -- before a command.
  trace.add_option("--stage", options.stages, stage_help())
      ->check(stage_validator())
      ->delimiter(',')
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  trace.add_flag("--json", options.json, "print JSON (one object per interval with -i); see docs/trace.md");
  trace.add_option("--svg", options.svg_path, "also draw the final histograms as an SVG picture into FILE")
      ->type_name("FILE");
  trace.add_flag("--no-percentiles", options.no_percentiles,
                 "histograms only: no ring buffer, so no percentiles, min or max, and less overhead");
}

void add_probe_options(CLI::App& trace, TraceOptions& options) {
  trace.add_option("--signal", options.signal, "the interrupt signal number, 1 to 64 (default: the one the library sends)")
      ->check(CLI::Range(1, 64));
  trace.add_option("--btf", options.btf_path, "kernel BTF file (default /sys/kernel/btf/vmlinux)")->type_name("FILE");
  trace.add_option("--attach", options.attach, "kernel tracepoint flavour: auto, tp_btf or raw_tp (default auto)")
      ->check(CLI::IsMember({"auto", "tp_btf", "raw_tp"}));
  trace.add_flag("-v,--verbose", options.verbose, "print libbpf's messages");
}

void add_workload_options(CLI::App& trace, TraceOptions& options) {
  trace.add_option("--threads", options.threads, "built-in workload: worker threads, 1 to 1024 (default 2)")
      ->check(CLI::Range(1u, WorkloadConfig::max_threads));
  trace.add_option("--rate", options.rate, "built-in workload: interrupts per second, above 0 (default 1000)")
      ->check(CLI::Range(0.001, WorkloadConfig::max_rate));
  trace.add_flag("--benchmark", options.benchmark,
                 "measure start-up and overhead on the built-in workload, beside bpftrace when installed");
}

}  // namespace

void add_trace_command(CLI::App& app, Action& action) {
  auto options = std::make_shared<TraceOptions>();
  CLI::App* trace = app.add_subcommand(
      "trace",
      "Trace with eBPF how long intr takes to deliver interrupts, stage by stage: per stage a log2 histogram, "
      "count, p50, p90, p99, p99.9 and max. With no target it traces the built-in workload of `intr demo` for 2 s. "
      "Needs root, or CAP_BPF and CAP_PERFMON.");
  trace->footer(
      "Examples:\n"
      "  intr trace                         trace the built-in workload for 2 s\n"
      "  intr trace -p 1234 -i 1            trace process 1234, print every second\n"
      "  intr trace -p 1234 -L --stage generate_to_deliver,guest_total\n"
      "  intr trace --json -- ./server -v   start ./server -v and trace it until it exits");

  add_target_options(*trace, *options);
  add_output_options(*trace, *options);
  add_probe_options(*trace, *options);
  add_workload_options(*trace, *options);

  trace->callback([options, &action] { action = [options] { return run_trace(*options); }; });
}

}  // namespace intr::tools
