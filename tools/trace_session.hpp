// The run of `intr trace`: what the command line chose, and the functions
// that trace a process, a started command, the built-in workload, or
// measure the tracer's own cost.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace intr::tools {

struct TraceOptions {
  pid_t pid = 0;
  pid_t tid = 0;
  double duration_seconds = 0.0;  // 0: until Ctrl-C, or 2 s for the built-in workload
  double interval_seconds = 0.0;  // 0: one report at the end
  bool per_thread = false;
  std::vector<std::string> stages;
  bool json = false;
  std::string svg_path;
  int signal = 0;
  std::string btf_path = "/sys/kernel/btf/vmlinux";
  std::string attach = "auto";
  bool no_percentiles = false;
  unsigned threads = 2;
  double rate = 1000.0;
  bool benchmark = false;
  bool verbose = false;
  std::vector<std::string> command;
};

// Runs `intr trace` and returns its exit code; prints errors on stderr.
int run_trace(const TraceOptions& options);

// `intr trace --benchmark`: start-up time and workload throughput without
// a tracer, with intr trace and with an equivalent bpftrace one-liner.
int run_trace_benchmark(const TraceOptions& options);

}  // namespace intr::tools
