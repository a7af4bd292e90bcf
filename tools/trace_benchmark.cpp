// `intr trace --benchmark`: what tracing costs. In one process it runs the
// built-in workload at --rate interrupts per second in rounds of four runs:
// without a tracer, under `intr trace -p` with every stage, under
// `intr trace -p` with generate_to_deliver only, and under an equivalent
// bpftrace one-liner. Each run reports the workload's throughput and its
// own median latencies, and each traced run is compared with the untraced
// run of its own round, so that slow drifts in machine load cancel out.
// Each tracer runs as a child process. Its start-up time runs from fork to
// the tracer saying that it is attached (intr trace) or to its first event
// (bpftrace, which prints nothing once attached).
#include "command.hpp"
#include "trace_session.hpp"
#include "workload.hpp"

#include <intr/intr.hpp>
#include <trace_error.hpp>
#include <usdt_binaries.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace intr::tools {
namespace {

using Clock = std::chrono::steady_clock;
using trace::TraceError;

constexpr auto startup_timeout = std::chrono::seconds(30);

// A tracer running as a child process, with its stdout and stderr on pipes.
struct Child {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
};

Child spawn(const std::vector<std::string>& argv) {
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw TraceError(std::string("pipe2 failed: ") + std::strerror(errno));
  }
  std::vector<char*> words;
  for (const std::string& word : argv) words.push_back(const_cast<char*>(word.c_str()));
  words.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw TraceError(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    execvp(words[0], words.data());
    std::fprintf(stderr, "cannot run %s: %s\n", words[0], std::strerror(errno));
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  return {pid, out[0], err[0]};
}

// Reads `fd` until a line contains `marker`; returns the time it took, or
// nullopt when the child closed the pipe or the timeout passed. Everything
// read is appended to `text`.
std::optional<Clock::duration> wait_for_line(int fd, const std::string& marker, Clock::time_point since,
                                             std::string& text) {
  char buffer[4096];
  while (Clock::now() - since < startup_timeout) {
    pollfd watched{fd, POLLIN, 0};
    if (::poll(&watched, 1, 100) <= 0) continue;
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got <= 0) return std::nullopt;
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.find(marker) != std::string::npos) return Clock::now() - since;
  }
  return std::nullopt;
}

std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof buffer)) > 0 || (got < 0 && errno == EINTR)) {
    if (got > 0) text.append(buffer, static_cast<std::size_t>(got));
  }
  return text;
}

// What one run of the workload measured.
struct Measured {
  double throughput = 0.0;  // interrupts observed per second
  double guest_p50_us = 0.0;  // its own median latency of signal-delivered guest interrupts
  double wait_p50_us = 0.0;   // and of interrupted waits
};

Measured measure(const TraceOptions& options, double seconds) {
  WorkloadConfig config;
  config.threads = options.threads;
  config.rate = options.rate;
  config.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds));
  WorkloadResult result = run_workload(config);
  Measured measured;
  measured.throughput = static_cast<double>(result.observed()) / std::chrono::duration<double>(result.elapsed).count();
  measured.guest_p50_us = static_cast<double>(result[InterruptKind::guest_signal].latency.p50_ns) / 1e3;
  measured.wait_p50_us = static_cast<double>(result[InterruptKind::waiting].latency.p50_ns) / 1e3;
  return measured;
}

// One tracer's figures over the rounds.
struct Row {
  std::string name;
  std::vector<double> startup_ms;
  std::vector<double> attach_ms;  // as intr trace reports it: loading and attaching only
  std::vector<double> attach_cpu_ms;  // the CPU time of that
  std::vector<double> throughput;
  std::vector<double> change;  // relative to the round's run without a tracer
  std::vector<double> guest_p50_us;
  std::vector<double> wait_p50_us;
  std::string recorded;        // what the tracer recorded in the last round
};

struct TracedRun {
  double startup_ms = 0.0;
  std::optional<double> attach_ms;
  std::optional<double> attach_cpu_ms;
  Measured measured;
  std::string output;  // the tracer's stdout (and its first stdout lines)
};

// A figure of the line "intr trace: attached to ... in X ms (Y ms of CPU)":
// the number after `prefix`.
std::optional<double> reported_ms(const std::string& text, const std::string& prefix) {
  std::size_t at = text.find(prefix);
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(text.c_str() + at + prefix.size(), nullptr);
}

// Runs the workload under a tracer started by `argv`. A warm-up workload
// runs while the tracer starts, so that bpftrace, which prints nothing once
// attached, sees the event that `marker` waits for. When the workload rate
// is low, the first event follows the attach by up to one tick.
TracedRun run_traced(const TraceOptions& options, const std::vector<std::string>& argv, bool marker_on_stdout,
                     const std::string& marker, double seconds) {
  WorkloadConfig warm;
  warm.threads = options.threads;
  warm.rate = options.rate;
  warm.duration = std::chrono::nanoseconds::zero();
  Workload warm_up(warm);
  warm_up.start();
  Clock::time_point begin = Clock::now();
  Child child = spawn(argv);
  std::string early;
  std::optional<Clock::duration> startup = wait_for_line(marker_on_stdout ? child.out : child.err, marker, begin, early);
  warm_up.stop();
  warm_up.join();

  TracedRun run;
  if (startup) {
    run.startup_ms = std::chrono::duration<double, std::milli>(*startup).count();
    run.attach_ms = reported_ms(early, ") in ");
    run.attach_cpu_ms = reported_ms(early, " ms (");
    run.measured = measure(options, seconds);
  }
  kill(child.pid, SIGINT);
  std::string out = read_all(child.out);
  std::string err = read_all(child.err);
  waitpid(child.pid, nullptr, 0);
  close(child.out);
  close(child.err);
  if (!startup) throw TraceError(argv.front() + " did not start within 30 s; its output was:\n" + early + out + err);
  run.output = marker_on_stdout ? early + out : out;
  return run;
}

std::string self_path() {
  char path[4096];
  ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) throw TraceError(std::string("readlink /proc/self/exe failed: ") + std::strerror(errno));
  return std::string(path, static_cast<std::size_t>(length));
}

// The count of the named stage in an `intr trace --json` report.
std::string traced_count(const std::string& json_text, const std::string& stage) {
  nlohmann::json document = nlohmann::json::parse(json_text, nullptr, false);
  if (document.is_discarded() || !document.contains("stages")) return "no report";
  for (const nlohmann::json& entry : document["stages"]) {
    if (entry.value("name", "") == stage) return std::to_string(entry.value("count", 0ull)) + " " + stage;
  }
  return "no " + stage;
}

std::string bpftrace_program(int signal, pid_t pid) {
  // The same stage as generate_to_deliver: from signal_generate of the
  // library's signal for a thread to signal_deliver in that thread.
  return "tracepoint:signal:signal_generate /args->sig == " + std::to_string(signal) +
         "/ { @start[args->pid] = nsecs; }\n"
         "tracepoint:signal:signal_deliver /pid == " +
         std::to_string(pid) +
         " && @start[tid]/ { @ns = hist(nsecs - @start[tid]); delete(@start[tid]); @events = count();"
         " if (@first == 0) { @first = 1; printf(\"first event\\n\"); } }";
}

bool bpftrace_usable(std::string& reason) {
  if (access("/sys/kernel/tracing/events/signal/signal_deliver", F_OK) != 0 &&
      access("/sys/kernel/debug/tracing/events/signal/signal_deliver", F_OK) != 0) {
    reason = "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing; bench/trace_vs_bpftrace.sh does it)";
    return false;
  }
  if (trace::resolve_command("bpftrace").empty()) {
    reason = "bpftrace is not installed (Debian package bpftrace)";
    return false;
  }
  return true;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2.0;
}

std::string spread(const std::vector<double>& values, const char* format) {
  if (values.empty()) return "-";
  auto [low, high] = std::minmax_element(values.begin(), values.end());
  char text[64];
  std::snprintf(text, sizeof text, format, median(values), *low, *high);
  return text;
}

void print_rows(const std::vector<Row>& rows, std::size_t rounds) {
  std::printf("\nmedian of %zu rounds [min, max]\n", rounds);
  std::printf("%-33s %-22s %-20s %-20s %-23s %-22s %-22s %-22s %s\n", "tracer", "start-up to attached",
              "load+attach (own)", "load+attach CPU", "interrupts/s", "vs none (same round)", "guest p50 (workload)",
              "wait p50 (workload)", "recorded (last round)");
  for (const Row& row : rows) {
    std::printf("%-33s %-22s %-20s %-20s %-23s %-22s %-22s %-22s %s\n", row.name.c_str(),
                spread(row.startup_ms, "%.0f ms [%.0f, %.0f]").c_str(),
                spread(row.attach_ms, "%.0f ms [%.0f, %.0f]").c_str(),
                spread(row.attach_cpu_ms, "%.0f ms [%.0f, %.0f]").c_str(),
                spread(row.throughput, "%.0f [%.0f, %.0f]").c_str(),
                spread(row.change, "%+.1f%% [%+.1f, %+.1f]").c_str(),
                spread(row.guest_p50_us, "%.1f us [%.1f, %.1f]").c_str(),
                spread(row.wait_p50_us, "%.1f us [%.1f, %.1f]").c_str(), row.recorded.c_str());
  }
}

}  // namespace

int run_trace_benchmark(const TraceOptions& options) {
  constexpr std::size_t rounds = 5;
  double seconds = options.duration_seconds > 0.0 ? options.duration_seconds : 2.0;
  int signal = linux_signal::ensure_installed();
  pid_t self = getpid();
  std::string intr = self_path();
  std::printf("intr trace --benchmark: %u worker threads, %.0f interrupts/s, %.1f s per run, %zu rounds, signal %d\n",
              options.threads, options.rate, seconds, rounds, signal);

  std::vector<std::string> all_stages{intr, "trace", "-p", std::to_string(self), "--json", "--btf", options.btf_path};
  std::vector<std::string> one_stage = all_stages;
  one_stage.insert(one_stage.end(), {"--stage", "generate_to_deliver"});
  std::string reason;
  bool with_bpftrace = bpftrace_usable(reason);
  if (!with_bpftrace) std::printf("bpftrace skipped: %s\n", reason.c_str());
  std::vector<std::string> bpftrace{"bpftrace", "-e", bpftrace_program(signal, self)};

  std::vector<Row> rows(4);
  rows[0].name = "none";
  rows[1].name = "intr trace (all stages)";
  rows[2].name = "intr trace (generate_to_deliver)";
  rows[3].name = "bpftrace (generate_to_deliver)";
  for (std::size_t round = 1; round <= rounds; ++round) {
    std::printf("round %zu of %zu\n", round, rounds);
    std::fflush(stdout);
    Measured none = measure(options, seconds);
    double baseline = none.throughput;
    auto record = [&](Row& row, const Measured& measured) {
      row.throughput.push_back(measured.throughput);
      row.change.push_back((measured.throughput / baseline - 1.0) * 100.0);
      row.guest_p50_us.push_back(measured.guest_p50_us);
      row.wait_p50_us.push_back(measured.wait_p50_us);
    };
    record(rows[0], none);
    auto add = [&](Row& row, const TracedRun& run, const std::string& recorded) {
      row.startup_ms.push_back(run.startup_ms);
      if (run.attach_ms) row.attach_ms.push_back(*run.attach_ms);
      if (run.attach_cpu_ms) row.attach_cpu_ms.push_back(*run.attach_cpu_ms);
      record(row, run.measured);
      row.recorded = recorded;
    };
    TracedRun full = run_traced(options, all_stages, false, "attached", seconds);
    add(rows[1], full, traced_count(full.output, "guest_total"));
    TracedRun single = run_traced(options, one_stage, false, "attached", seconds);
    add(rows[2], single, traced_count(single.output, "generate_to_deliver"));
    if (with_bpftrace) {
      TracedRun run = run_traced(options, bpftrace, true, "first event", seconds);
      std::size_t at = run.output.find("@events: ");
      std::string count = at == std::string::npos ? "no count" : run.output.substr(at + 9, run.output.find('\n', at) - at - 9);
      add(rows[3], run, count + " generate_to_deliver");
    }
  }
  if (!with_bpftrace) rows.pop_back();
  print_rows(rows, rounds);
  return exit_ok;
}

}  // namespace intr::tools
