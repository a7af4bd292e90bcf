// `intr trace --benchmark`: what tracing costs. In one process it runs the
// built-in workload as fast as it goes (no rate limit to speak of) several
// times: without a tracer, under `intr trace -p` with every stage, under
// `intr trace -p` with generate_to_deliver only, and under an equivalent
// bpftrace one-liner, then without a tracer again. Each tracer runs as a
// child process; its start-up time runs from fork to the tracer saying
// that it is attached (intr trace) or to its first event (bpftrace, which
// prints nothing once attached).
#include "command.hpp"
#include "trace_session.hpp"
#include "workload.hpp"

#include <intr/intr.hpp>
#include <trace_error.hpp>
#include <usdt_binaries.hpp>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
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

constexpr double saturating_rate = 1'000'000.0;
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

// Interrupts per second that the workload completed in `seconds`.
double measure_throughput(const TraceOptions& options, double seconds) {
  WorkloadConfig config;
  config.threads = options.threads;
  config.rate = saturating_rate;
  config.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds));
  WorkloadResult result = run_workload(config);
  return static_cast<double>(result.observed()) / std::chrono::duration<double>(result.elapsed).count();
}

struct Row {
  std::string name;
  std::optional<double> startup_ms;
  double throughput = 0.0;
  std::string events;  // what the tracer recorded, for a sanity check
};

// Runs the workload under a tracer started by `argv`: a warm-up workload
// runs while the tracer starts, so that bpftrace sees its first event.
Row run_traced(const TraceOptions& options, const std::string& name, const std::vector<std::string>& argv,
               int marker_fd_index, const std::string& marker, double seconds) {
  WorkloadConfig warm;
  warm.threads = options.threads;
  warm.rate = saturating_rate;
  warm.duration = std::chrono::nanoseconds::zero();
  Workload warm_up(warm);
  warm_up.start();
  Clock::time_point begin = Clock::now();
  Child child = spawn(argv);
  std::string early;
  std::optional<Clock::duration> startup =
      wait_for_line(marker_fd_index == 1 ? child.out : child.err, marker, begin, early);
  warm_up.stop();
  warm_up.join();

  Row row{name, std::nullopt, 0.0, ""};
  if (startup) {
    row.startup_ms = std::chrono::duration<double, std::milli>(*startup).count();
    row.throughput = measure_throughput(options, seconds);
  }
  kill(child.pid, SIGINT);
  std::string out = read_all(child.out);
  std::string err = read_all(child.err);
  int status = 0;
  waitpid(child.pid, &status, 0);
  close(child.out);
  close(child.err);
  if (!startup) {
    throw TraceError(name + " did not start within 30 s; its output was:\n" + early + out + err);
  }
  row.events = marker_fd_index == 1 ? early + out : out;
  return row;
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

void print_rows(const std::vector<Row>& rows, double baseline) {
  std::printf("%-34s %12s %14s %9s  %s\n", "tracer", "start-up", "interrupts/s", "vs none", "recorded");
  for (const Row& row : rows) {
    char startup[32] = "-";
    if (row.startup_ms) std::snprintf(startup, sizeof startup, "%.1f ms", *row.startup_ms);
    double change = (row.throughput / baseline - 1.0) * 100.0;
    std::printf("%-34s %12s %14.0f %+8.1f%%  %s\n", row.name.c_str(), startup, row.throughput, change, row.events.c_str());
  }
}

}  // namespace

int run_trace_benchmark(const TraceOptions& options) {
  double seconds = options.duration_seconds > 0.0 ? options.duration_seconds : 2.0;
  int signal = linux_signal::ensure_installed();
  pid_t self = getpid();
  std::string intr = self_path();
  std::printf("intr trace --benchmark: %u worker threads, workload unthrottled, %.1f s per run, signal %d\n\n",
              options.threads, seconds, signal);
  std::fflush(stdout);

  std::vector<Row> rows;
  rows.push_back({"none", std::nullopt, measure_throughput(options, seconds), ""});
  std::vector<std::string> all_stages{intr, "trace", "-p", std::to_string(self), "--json", "--btf", options.btf_path};
  Row full = run_traced(options, "intr trace (all stages)", all_stages, 2, "attached", seconds);
  full.events = traced_count(full.events, "guest_total");
  rows.push_back(full);
  std::vector<std::string> one_stage = all_stages;
  one_stage.insert(one_stage.end(), {"--stage", "generate_to_deliver"});
  Row single = run_traced(options, "intr trace (generate_to_deliver)", one_stage, 2, "attached", seconds);
  single.events = traced_count(single.events, "generate_to_deliver");
  rows.push_back(single);

  std::string reason;
  if (bpftrace_usable(reason)) {
    std::vector<std::string> bpftrace{"bpftrace", "-e", bpftrace_program(signal, self)};
    Row row = run_traced(options, "bpftrace (generate_to_deliver)", bpftrace, 1, "first event", seconds);
    std::size_t at = row.events.find("@events: ");
    row.events = at == std::string::npos ? "no count" : row.events.substr(at + 9, row.events.find('\n', at) - at - 9) +
                                                           " generate_to_deliver";
    rows.push_back(row);
  } else {
    std::printf("bpftrace skipped: %s\n", reason.c_str());
  }
  rows.push_back({"none (again)", std::nullopt, measure_throughput(options, seconds), ""});

  double baseline = (rows.front().throughput + rows.back().throughput) / 2.0;
  print_rows(rows, baseline);
  return exit_ok;
}

}  // namespace intr::tools
