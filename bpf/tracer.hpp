// The interrupt-delivery tracer: loads intr_trace.bpf.c, attaches it to the
// kernel's signal and scheduler tracepoints and to the USDT probes of one
// process, and collects per-stage latency histograms and percentiles.
//
// A Tracer is attached from construction to destruction. The destructor
// detaches and unloads everything, so no program or link of the tracer
// outlives it. Not thread-safe: use one Tracer from one thread.
#pragma once

#include "latency_distribution.hpp"
#include "trace_error.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace intr::trace {

// Log2 buckets per histogram; bucket 0 counts 0 and 1 ns, bucket i > 0
// counts [2^i, 2^(i+1)) ns, and the last bucket also counts longer values.
inline constexpr std::size_t log2_bucket_count = 40;

enum class Stage : std::uint32_t {
  request_to_generate,  // interrupt() called to the signal generated
  generate_to_deliver,  // signal generated to delivered in the target thread
  deliver_to_handler,   // delivered to the library's handler entered
  handler_to_host,      // handler entered to the guest back in host code
  guest_total,          // interrupt() called to the guest back in host code
  wake_to_wakeup,       // interrupt() or wake() called to the scheduler wake-up
  wakeup_to_running,    // wake-up to the waiter running on a CPU
  running_to_return,    // running to the wait returning its result
  wait_total,           // interrupt() or wake() called to the wait returning
};
inline constexpr std::size_t stage_count = 9;

struct StageInfo {
  Stage stage;
  std::string_view name;
  std::string_view description;
  bool guest;  // part of the guest-interrupt chain; else of the wait chain
};

const std::array<StageInfo, stage_count>& all_stages();
const StageInfo& stage_info(Stage stage);
std::optional<Stage> parse_stage(std::string_view name);

// The kernel tracepoint flavour to attach: tp_btf when the kernel supports
// it (Linux 5.5 and later with BTF), else raw_tp.
enum class AttachMode { automatic, tp_btf, raw_tp };

struct TracerOptions {
  pid_t process = 0;  // the traced process (its USDT probes); required
  pid_t thread = 0;   // only chains whose target is this thread; 0 for all
  int signal = 0;     // only this signal number; 0 for the one the library sends
  std::vector<Stage> stages;  // the stages to report; empty for all
  bool per_thread = false;    // one histogram per target thread
  bool percentiles = true;    // stream each chain to user space for percentiles
  AttachMode attach_mode = AttachMode::automatic;
  std::string btf_path = "/sys/kernel/btf/vmlinux";
  // Files with intr USDT probes; empty to find them in /proc/PID/maps.
  std::vector<std::string> binaries;
  std::size_t ring_buffer_bytes = std::size_t{1} << 20;  // a power of two, >= the page size
  bool verbose = false;  // print libbpf's messages on stderr
};

struct Counters {
  std::uint64_t ring_buffer_drops = 0;
  // signal_generate results for the library's signals: delivered, ignored,
  // already pending, overflow (queue full), delivered without siginfo.
  std::array<std::uint64_t, 5> generate_results{};
  std::uint64_t guest_returned_before_handler = 0;
  std::uint64_t wait_ended_before_running = 0;
  std::uint64_t wait_chains_stale = 0;
  std::uint64_t chains_replaced = 0;
  std::uint64_t negative_deltas = 0;
  std::uint64_t histogram_map_full = 0;
};

inline constexpr std::array<std::string_view, 5> generate_result_names{"delivered", "ignored", "already_pending",
                                                                       "overflow_fail", "lose_info"};

struct StageReport {
  Stage stage = Stage::request_to_generate;
  std::uint32_t tid = 0;  // the target thread; 0 unless per_thread
  std::array<std::uint64_t, log2_bucket_count> histogram{};
  std::uint64_t count = 0;  // the sum of the histogram
  // Percentiles, min and max; empty without TracerOptions::percentiles, and
  // short of `count` by the chains that the ring buffer dropped.
  LatencyDistribution distribution;
};

struct Report {
  std::vector<StageReport> stages;  // in Stage order, then by tid
  Counters counters;
  bool percentiles = false;
  bool per_thread = false;
  std::chrono::nanoseconds elapsed{0};
  std::string attach_mode;  // "tp_btf" or "raw_tp"
};

class Tracer {
 public:
  // Checks privileges and BTF, loads the programs and attaches them. Throws
  // TraceError with a message that names the failing step.
  explicit Tracer(TracerOptions options);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // A descriptor that becomes readable when a quarter of the ring buffer
  // contains chain records, or -1 without percentiles. Use it in poll() or
  // epoll next to others, and also call drain() at least every
  // drain_interval, because fewer records do not make it readable.
  int event_fd() const;
  static constexpr std::chrono::milliseconds drain_interval{100};

  // Reads waiting chain records; waits up to `timeout` for the first.
  void poll(std::chrono::milliseconds timeout);

  // Reads the chain records that are waiting, without waiting.
  void drain();

  // Everything recorded since attach or the last reset.
  Report report(bool reset);

  std::string_view attach_mode() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Throws TraceError unless this process may load BPF programs and attach
// uprobes: root, or CAP_BPF with CAP_PERFMON (or CAP_SYS_ADMIN).
void check_privileges();

}  // namespace intr::trace
