// The tracing loop of `intr trace` and its three targets: a running
// process, a command started paused until the probes are attached, and the
// built-in workload in this process.
#include "trace_session.hpp"

#include "command.hpp"
#include "workload.hpp"

#include <environment.hpp>
#include <report.hpp>
#include <tracer.hpp>
#include <usdt_binaries.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace intr::tools {
namespace {

using Clock = std::chrono::steady_clock;
using trace::TraceError;

constexpr double default_workload_seconds = 2.0;

// Blocks SIGINT and SIGTERM in this thread and every thread started after
// it, and reads them from a signalfd, so Ctrl-C ends the loop in order.
class TerminationSignals {
 public:
  TerminationSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &original_);
    fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd_ < 0) throw TraceError(std::string("signalfd failed: ") + std::strerror(errno));
  }
  ~TerminationSignals() {
    close(fd_);
    pthread_sigmask(SIG_SETMASK, &original_, nullptr);
  }
  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;

  int fd() const { return fd_; }
  const sigset_t& original_mask() const { return original_; }

  // The signal that arrived, or 0.
  int take() const {
    signalfd_siginfo info{};
    if (read(fd_, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 0;
    return static_cast<int>(info.ssi_signo);
  }

 private:
  int fd_ = -1;
  sigset_t original_{};
};

int open_pidfd(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

trace::TracerOptions tracer_options(const TraceOptions& options, pid_t process) {
  trace::TracerOptions chosen;
  chosen.process = process;
  chosen.thread = options.tid;
  chosen.signal = options.signal;
  for (const std::string& name : options.stages) chosen.stages.push_back(*trace::parse_stage(name));
  chosen.per_thread = options.per_thread;
  chosen.percentiles = !options.no_percentiles;
  chosen.btf_path = options.btf_path;
  if (options.attach == "tp_btf") chosen.attach_mode = trace::AttachMode::tp_btf;
  if (options.attach == "raw_tp") chosen.attach_mode = trace::AttachMode::raw_tp;
  chosen.verbose = options.verbose;
  return chosen;
}

std::chrono::nanoseconds thread_cpu_time() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

// A Tracer and the time its constructor took, which is the start-up time,
// in wall-clock time and in CPU time of this thread (the kernel's verifier
// included). On a busy machine the first grows and the second does not.
struct AttachedTracer {
  std::unique_ptr<trace::Tracer> tracer;
  std::chrono::nanoseconds startup{0};
  std::chrono::nanoseconds startup_cpu{0};
};

AttachedTracer attach(const trace::TracerOptions& chosen, const char* target) {
  Clock::time_point begin = Clock::now();
  std::chrono::nanoseconds cpu_begin = thread_cpu_time();
  AttachedTracer attached{std::make_unique<trace::Tracer>(chosen), {}, {}};
  attached.startup = Clock::now() - begin;
  attached.startup_cpu = thread_cpu_time() - cpu_begin;
  std::fprintf(stderr, "intr trace: attached to %s (%.*s) in %.1f ms (%.1f ms of CPU); Ctrl-C to end\n", target,
               static_cast<int>(attached.tracer->attach_mode().size()), attached.tracer->attach_mode().data(),
               std::chrono::duration<double, std::milli>(attached.startup).count(),
               std::chrono::duration<double, std::milli>(attached.startup_cpu).count());
  return attached;
}

// Prints reports: each interval's when -i is set, and the final one; keeps
// their sum for the SVG picture.
class Printer {
 public:
  Printer(const TraceOptions& options, const AttachedTracer& attached)
      : options_(options), startup_(attached.startup), startup_cpu_(attached.startup_cpu) {}

  void interval(trace::Tracer& tracer) { print(tracer.report(true), nullptr); }

  // Prints the last report. `extra` adds members to the JSON object.
  void finish(trace::Tracer& tracer, const nlohmann::json& extra, void (*write_extra_text)(const nlohmann::json&)) {
    bool intervals = options_.interval_seconds > 0.0;
    trace::Report last = tracer.report(intervals);
    print(std::move(last), &extra);
    if (write_extra_text != nullptr && !options_.json) write_extra_text(extra);
    if (!options_.svg_path.empty()) write_svg();
  }

 private:
  void print(trace::Report report, const nlohmann::json* extra) {
    ++printed_;
    if (options_.json) {
      nlohmann::json document = trace::to_json(report);
      document["startup_ns"] = startup_.count();
      document["startup_cpu_ns"] = startup_cpu_.count();
      if (options_.interval_seconds > 0.0) document["interval"] = printed_;
      if (extra != nullptr) document.update(*extra);
      std::printf("%s\n", document.dump().c_str());
    } else {
      if (options_.interval_seconds > 0.0) std::printf("\n--- interval %d\n", printed_);
      trace::write_text(stdout, report);
    }
    std::fflush(stdout);
    if (total_) {
      trace::merge(*total_, report);
    } else {
      total_ = std::move(report);
    }
  }

  void write_svg() {
    std::ofstream file(options_.svg_path, std::ios::trunc);
    file << trace::to_svg(*total_);
    file.close();
    if (!file) throw TraceError("cannot write the SVG picture to " + options_.svg_path + ": " + std::strerror(errno));
  }

  const TraceOptions& options_;
  std::chrono::nanoseconds startup_;
  std::chrono::nanoseconds startup_cpu_;
  std::optional<trace::Report> total_;
  int printed_ = 0;
};

enum class StopReason { duration, signal, process_exited };

struct Stop {
  StopReason reason = StopReason::duration;
  int signal = 0;
};

// Polls the ring buffer, the termination signals and the traced process
// until one of them ends the trace or the duration passes. Prints a report
// at each interval.
Stop run_loop(trace::Tracer& tracer, Printer& printer, const TerminationSignals& signals, int process_fd,
              double duration_seconds, double interval_seconds) {
  using Seconds = std::chrono::duration<double>;
  Clock::time_point start = Clock::now();
  std::optional<Clock::time_point> deadline;
  if (duration_seconds > 0.0) deadline = start + std::chrono::duration_cast<Clock::duration>(Seconds(duration_seconds));
  auto interval = std::chrono::duration_cast<Clock::duration>(Seconds(interval_seconds));
  Clock::time_point next_interval = start + interval;

  for (;;) {
    Clock::time_point now = Clock::now();
    if (deadline && now >= *deadline) return {StopReason::duration, 0};
    if (interval_seconds > 0.0 && now >= next_interval) {
      printer.interval(tracer);
      next_interval += interval;
      continue;
    }
    Clock::time_point wake = Clock::time_point::max();
    if (deadline) wake = *deadline;
    if (interval_seconds > 0.0) wake = std::min(wake, next_interval);
    // The ring buffer wakes the loop only when a quarter full, so the loop
    // drains it on this timer too.
    long long timeout_ms = trace::Tracer::drain_interval.count();
    if (wake != Clock::time_point::max()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
      timeout_ms = std::clamp<long long>(left, 0, timeout_ms);
    }

    pollfd fds[3] = {{signals.fd(), POLLIN, 0}, {tracer.event_fd(), POLLIN, 0}, {process_fd, POLLIN, 0}};
    int ready = ::poll(fds, 3, static_cast<int>(timeout_ms));  // negative fds are skipped
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw TraceError(std::string("poll failed: ") + std::strerror(errno));
    }
    tracer.drain();
    if (fds[0].revents & POLLIN) {
      if (int signal = signals.take(); signal != 0) return {StopReason::signal, signal};
    }
    if (fds[2].revents & POLLIN) return {StopReason::process_exited, 0};
  }
}

void report_signal(const Stop& stop) {
  if (stop.reason == StopReason::signal) std::fprintf(stderr, "intr trace: %s received; detaching\n", strsignal(stop.signal));
}

// Finds the process of a thread through /proc/TID/status.
pid_t process_of_thread(pid_t tid) {
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (status && std::getline(status, line)) {
    if (line.rfind("Tgid:", 0) == 0) return static_cast<pid_t>(std::stol(line.substr(5)));
  }
  throw TraceError("thread " + std::to_string(tid) + " does not exist; pass the TID of a running thread (ls /proc/PID/task)", 2);
}

int trace_process(const TraceOptions& options, const TerminationSignals& signals) {
  pid_t pid = options.pid != 0 ? options.pid : process_of_thread(options.tid);
  if (kill(pid, 0) != 0 && errno == ESRCH) {
    throw TraceError("process " + std::to_string(pid) + " does not exist; pass the PID of a running process", 2);
  }
  if (options.tid != 0 && access(("/proc/" + std::to_string(pid) + "/task/" + std::to_string(options.tid)).c_str(), F_OK) != 0) {
    throw TraceError("thread " + std::to_string(options.tid) + " is not a thread of process " + std::to_string(pid) +
                         "; list them with ls /proc/" + std::to_string(pid) + "/task",
                     2);
  }
  int process_fd = open_pidfd(pid);
  if (process_fd < 0) throw TraceError("process " + std::to_string(pid) + " cannot be watched: pidfd_open failed: " + std::strerror(errno));
  std::string target = "process " + std::to_string(pid);
  AttachedTracer attached = attach(tracer_options(options, pid), target.c_str());
  Printer printer(options, attached);
  Stop stop = run_loop(*attached.tracer, printer, signals, process_fd, options.duration_seconds, options.interval_seconds);
  close(process_fd);
  report_signal(stop);
  printer.finish(*attached.tracer, nlohmann::json::object(), nullptr);
  if (stop.reason == StopReason::process_exited) {
    std::fprintf(stderr, "intr trace: process %d exited during tracing; the report covers the time before it exited\n", pid);
    return exit_property_failed;
  }
  return exit_ok;
}

// Forks a child that waits on a pipe until the probes are attached, then
// runs the command.
pid_t start_paused(const std::vector<std::string>& command, const sigset_t& original_mask, int& gate) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw TraceError(std::string("pipe2 failed: ") + std::strerror(errno));
  std::vector<char*> argv;
  for (const std::string& word : command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  pid_t child = fork();
  if (child < 0) throw TraceError(std::string("fork failed: ") + std::strerror(errno));
  if (child == 0) {
    close(pipe_fds[1]);
    char go = 0;
    ssize_t got;
    do {
      got = read(pipe_fds[0], &go, 1);
    } while (got < 0 && errno == EINTR);
    if (got != 1) _exit(127);  // the tracer failed to attach
    sigprocmask(SIG_SETMASK, &original_mask, nullptr);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "intr trace: cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  close(pipe_fds[0]);
  gate = pipe_fds[1];
  return child;
}

int trace_command(const TraceOptions& options, const TerminationSignals& signals) {
  const std::string& name = options.command.front();
  std::string path = trace::resolve_command(name);
  if (path.empty()) throw TraceError("command '" + name + "' not found or not executable; give a path or a name in PATH", 2);
  // NOTE: only the executable is searched, so a command that loads intr as
  // a shared library must be traced with -p once it runs.
  if (!trace::has_intr_probes(path)) {
    throw TraceError(path + " has no intr USDT probes: link it with intr built with <sys/sdt.h> (systemtap-sdt-dev)", 2);
  }
  int gate = -1;
  pid_t child = start_paused(options.command, signals.original_mask(), gate);
  int process_fd = open_pidfd(child);
  trace::TracerOptions chosen = tracer_options(options, child);
  chosen.binaries = {path};
  std::optional<AttachedTracer> attached;
  try {
    std::string target = "command " + name + " (process " + std::to_string(child) + ")";
    attached = attach(chosen, target.c_str());
  } catch (...) {
    close(gate);  // the child reads EOF and exits 127
    waitpid(child, nullptr, 0);
    throw;
  }
  char go = 'g';
  if (write(gate, &go, 1) != 1) throw TraceError(std::string("starting the command failed: ") + std::strerror(errno));
  close(gate);

  Printer printer(options, *attached);
  Stop stop = run_loop(*attached->tracer, printer, signals, process_fd, options.duration_seconds, options.interval_seconds);
  close(process_fd);
  report_signal(stop);
  if (stop.reason == StopReason::signal) kill(child, stop.signal);
  nlohmann::json extra = nlohmann::json::object();
  if (stop.reason == StopReason::process_exited) {
    int status = 0;
    waitpid(child, &status, 0);
    if (WIFEXITED(status)) extra["command_exit_status"] = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) extra["command_signal"] = WTERMSIG(status);
  }
  printer.finish(*attached->tracer, extra, nullptr);
  return exit_ok;
}

nlohmann::json workload_json(const TraceOptions& options, const WorkloadResult& result) {
  nlohmann::json kinds = nlohmann::json::object();
  for (InterruptKind kind : all_kinds) {
    kinds[std::string(name(kind))] = {{"requested", result[kind].requested}, {"observed", result[kind].observed}};
  }
  return {{"workload",
           {{"threads", options.threads},
            {"rate_per_s", options.rate},
            {"elapsed_ns", result.elapsed.count()},
            {"kinds", kinds},
            {"wakes", result.wakes},
            {"signals_accepted", result.signals_accepted},
            {"signals_late", result.signals_late}}}};
}

void write_workload_text(const nlohmann::json& extra) {
  const nlohmann::json& workload = extra.at("workload");
  std::printf("\nworkload: %u threads, %.0f interrupts/s for %.2f s\n", workload.at("threads").get<unsigned>(),
              workload.at("rate_per_s").get<double>(), workload.at("elapsed_ns").get<double>() / 1e9);
  for (const auto& [kind, counts] : workload.at("kinds").items()) {
    std::printf("  %-14s requested %llu, observed %llu\n", kind.c_str(),
                counts.at("requested").get<unsigned long long>(), counts.at("observed").get<unsigned long long>());
  }
  std::printf("  wake-ups %llu; interrupt signals accepted %llu, late %llu\n",
              workload.at("wakes").get<unsigned long long>(), workload.at("signals_accepted").get<unsigned long long>(),
              workload.at("signals_late").get<unsigned long long>());
}

int trace_workload(const TraceOptions& options, const TerminationSignals& signals) {
  WorkloadConfig config;
  config.threads = options.threads;
  config.rate = options.rate;
  config.duration = std::chrono::nanoseconds::zero();  // until stop()
  Workload workload(config);
  AttachedTracer attached = attach(tracer_options(options, getpid()), "the built-in workload");
  Printer printer(options, attached);
  workload.start();
  double seconds = options.duration_seconds > 0.0 ? options.duration_seconds : default_workload_seconds;
  Stop stop;
  try {
    stop = run_loop(*attached.tracer, printer, signals, -1, seconds, options.interval_seconds);
  } catch (...) {
    workload.stop();
    workload.join();
    throw;
  }
  workload.stop();
  WorkloadResult result = workload.join();
  report_signal(stop);
  printer.finish(*attached.tracer, workload_json(options, result), write_workload_text);
  return exit_ok;
}

// Rejects option combinations that name two targets.
void check_targets(const TraceOptions& options) {
  if (!options.command.empty() && (options.pid != 0 || options.tid != 0)) {
    throw TraceError("-p/-t and -- COMMAND both name a target; trace either a running process or a new command", 2);
  }
  bool workload_options = options.threads != 2 || options.rate != 1000.0;
  if (workload_options && (options.pid != 0 || options.tid != 0 || !options.command.empty())) {
    throw TraceError("--threads and --rate set the built-in workload, which runs only when no target is named", 2);
  }
}

// Fails before tracing, not after, when the picture cannot be written.
void check_svg_path(const std::string& path) {
  if (path.empty()) return;
  std::ofstream file(path, std::ios::app);
  if (!file) {
    throw TraceError("cannot write the SVG picture to " + path + " (" + std::strerror(errno) +
                         "); name a file in a writable folder",
                     2);
  }
}

}  // namespace

int run_trace(const TraceOptions& options) {
  try {
    if (options.benchmark) return run_trace_benchmark(options);
    check_targets(options);
    check_svg_path(options.svg_path);
    trace::check_privileges();
    trace::check_btf(options.btf_path);
    TerminationSignals signals;
    if (!options.command.empty()) return trace_command(options, signals);
    if (options.pid != 0 || options.tid != 0) return trace_process(options, signals);
    return trace_workload(options, signals);
  } catch (const TraceError& error) {
    std::fprintf(stderr, "intr trace: %s\n", error.what());
    return error.exit_code();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "intr trace: %s\n", error.what());
    return exit_property_failed;
  }
}

}  // namespace intr::tools
