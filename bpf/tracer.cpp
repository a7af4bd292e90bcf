// The loader: opens the embedded BPF object, sets its filters, picks the
// tracepoint flavour, loads and attaches it, and reads its maps.
#include "tracer.hpp"

#include "environment.hpp"
#include "usdt_binaries.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <linux/types.h>
#include <map>
#include <signal.h>
#include <unistd.h>
#include <utility>

#include "intr_trace.h"
#include "intr_trace.skel.h"

namespace intr::trace {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view default_btf_path = "/sys/kernel/btf/vmlinux";

// libbpf reports through one process-wide callback. It keeps the last
// messages for error reports, and prints them all when verbose.
struct LibbpfLog {
  bool verbose = false;
  std::string recent;
};
LibbpfLog libbpf_log;

int print_libbpf(enum libbpf_print_level level, const char* format, va_list arguments) {
  if (level == LIBBPF_DEBUG && !libbpf_log.verbose) return 0;
  va_list copy;
  va_copy(copy, arguments);
  int length = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (length < 0) return 0;
  std::string line(static_cast<std::size_t>(length) + 1, '\0');
  std::vsnprintf(line.data(), line.size(), format, arguments);
  line.pop_back();
  if (libbpf_log.verbose) std::fputs(line.c_str(), stderr);
  // The end of a verifier log names the failing instruction: keep the tail.
  libbpf_log.recent += line;
  if (libbpf_log.recent.size() > 4096) libbpf_log.recent.erase(0, libbpf_log.recent.size() - 4096);
  return length;
}

std::string with_libbpf_log(std::string message) {
  if (!libbpf_log.recent.empty()) message += "\nlibbpf output:\n" + libbpf_log.recent;
  return message;
}

using Progs = decltype(intr_trace_bpf::progs);
using ProgramMember = bpf_program* Progs::*;

// A USDT program and the probe of provider `intr` that it attaches to.
struct UsdtProgram {
  ProgramMember program;
  const char* probe;
  bool guest;  // needed by the guest chain
  bool wait;   // needed by the wait chain
};

// A kernel tracepoint in its tp_btf and raw_tp versions.
struct KernelProgram {
  ProgramMember tp_btf;
  ProgramMember raw_tp;
  bool guest;  // needed by the guest chain; else by the wait chain
};

constexpr std::array<UsdtProgram, 7> usdt_programs{{
    {&Progs::intr_requested, "interrupt_requested", true, true},
    {&Progs::intr_sent, "signal_sent", true, false},
    {&Progs::intr_handler, "handler_entered", true, false},
    {&Progs::intr_guest_ret, "guest_returned", true, false},
    {&Progs::intr_woken, "wait_woken", false, true},
    {&Progs::intr_wait_start, "wait_started", false, true},
    {&Progs::intr_wait_ended, "wait_ended", false, true},
}};

constexpr std::array<KernelProgram, 4> kernel_programs{{
    {&Progs::intr_generate, &Progs::intr_generate_r, true},
    {&Progs::intr_deliver, &Progs::intr_deliver_r, true},
    {&Progs::intr_wakeup, &Progs::intr_wakeup_r, false},
    {&Progs::intr_switch, &Progs::intr_switch_r, false},
}};

std::string errno_text(int error) { return std::strerror(error < 0 ? -error : error); }

}  // namespace

struct Tracer::Impl {
  TracerOptions options;
  intr_trace_bpf* skeleton = nullptr;
  std::vector<bpf_link*> links;
  ring_buffer* ring = nullptr;
  bool tp_btf = false;
  bool guest = false;
  bool wait = false;
  std::array<bool, stage_count> selected{};
  std::map<std::pair<std::uint32_t, Stage>, LatencyDistribution> distributions;
  Clock::time_point since = Clock::now();

  explicit Impl(TracerOptions chosen) : options(std::move(chosen)) {}
  ~Impl() {
    ring_buffer__free(ring);
    for (bpf_link* link : links) bpf_link__destroy(link);
    intr_trace_bpf__destroy(skeleton);
  }

  bool wanted(const UsdtProgram& usdt) const { return (usdt.guest && guest) || (usdt.wait && wait); }
  void select_stages();
  void open();
  void choose_programs(bool use_tp_btf);
  void load();
  void attach();
  void add_chain(const intr_chain_event& event);
};

void Tracer::Impl::select_stages() {
  if (options.stages.empty()) {
    selected.fill(true);
  } else {
    for (Stage stage : options.stages) selected[static_cast<std::size_t>(stage)] = true;
  }
  for (const StageInfo& info : all_stages()) {
    if (!selected[static_cast<std::size_t>(info.stage)]) continue;
    (info.guest ? guest : wait) = true;
  }
}

void Tracer::Impl::open() {
  bpf_object_open_opts open_options{};
  open_options.sz = sizeof open_options;
  // libbpf reads the running kernel's BTF anyway; naming it again would
  // parse it twice.
  if (options.btf_path != default_btf_path) open_options.btf_custom_path = options.btf_path.c_str();
  skeleton = intr_trace_bpf__open_opts(&open_options);
  if (skeleton == nullptr) throw TraceError(with_libbpf_log("opening the BPF object failed: " + errno_text(errno)));

  skeleton->rodata->target_tgid = static_cast<__u32>(options.process);
  skeleton->rodata->target_tid = static_cast<__u32>(options.thread);
  skeleton->rodata->target_signal = options.signal;
  skeleton->rodata->per_thread = options.per_thread;
  skeleton->rodata->emit_events = options.percentiles;
  skeleton->rodata->wakeup_bytes = options.ring_buffer_bytes / 4;
  // Without percentiles the ring buffer stays unused: one page is enough.
  std::size_t bytes = options.percentiles ? options.ring_buffer_bytes : static_cast<std::size_t>(getpagesize());
  int error = bpf_map__set_max_entries(skeleton->maps.events, static_cast<__u32>(bytes));
  if (error != 0) throw TraceError("sizing the ring buffer to " + std::to_string(bytes) + " bytes failed: " + errno_text(error));
}

void Tracer::Impl::choose_programs(bool use_tp_btf) {
  tp_btf = use_tp_btf;
  for (const UsdtProgram& usdt : usdt_programs) {
    bpf_program__set_autoload(skeleton->progs.*usdt.program, wanted(usdt));
  }
  for (const KernelProgram& kernel : kernel_programs) {
    bool needed = kernel.guest ? guest : wait;
    bpf_program__set_autoload(skeleton->progs.*kernel.tp_btf, needed && tp_btf);
    bpf_program__set_autoload(skeleton->progs.*kernel.raw_tp, needed && !tp_btf);
  }
}

// Loads with the flavour asked for. In automatic mode it tries tp_btf
// first and, when the kernel rejects it, opens the object again with the
// raw_tp programs instead, which costs nothing where tp_btf works.
void Tracer::Impl::load() {
  bool automatic = options.attach_mode == AttachMode::automatic;
  open();
  choose_programs(options.attach_mode != AttachMode::raw_tp);
  int error = intr_trace_bpf__load(skeleton);
  if (error != 0 && automatic) {
    std::string first_log = libbpf_log.recent;
    intr_trace_bpf__destroy(skeleton);
    skeleton = nullptr;
    libbpf_log.recent.clear();
    open();
    choose_programs(false);
    error = intr_trace_bpf__load(skeleton);
    if (error != 0) libbpf_log.recent = first_log + libbpf_log.recent;
  }
  if (error != 0) {
    std::string hint = options.attach_mode == AttachMode::tp_btf ? " (try --attach raw_tp)" : "";
    throw TraceError(with_libbpf_log("loading the BPF programs failed: " + errno_text(error) + hint));
  }
}

void Tracer::Impl::attach() {
  for (const KernelProgram& kernel : kernel_programs) {
    if (!(kernel.guest ? guest : wait)) continue;
    bpf_program* program = skeleton->progs.*(tp_btf ? kernel.tp_btf : kernel.raw_tp);
    bpf_link* link = bpf_program__attach(program);
    if (link == nullptr) {
      throw TraceError(with_libbpf_log(std::string("attaching ") + bpf_program__section_name(program) +
                                       " failed: " + errno_text(errno)));
    }
    links.push_back(link);
  }
  for (const UsdtProgram& usdt : usdt_programs) {
    if (!wanted(usdt)) continue;
    for (const std::string& binary : options.binaries) {
      bpf_link* link = bpf_program__attach_usdt(skeleton->progs.*usdt.program, options.process, binary.c_str(), "intr",
                                                usdt.probe, nullptr);
      if (link == nullptr) {
        int error = errno;
        std::string hint = error == ENOENT ? "; was intr built with <sys/sdt.h> (Debian package systemtap-sdt-dev)?" : "";
        throw TraceError(with_libbpf_log("attaching to USDT probe intr:" + std::string(usdt.probe) + " in " + binary +
                                         " failed: " + errno_text(error) + hint));
      }
      links.push_back(link);
    }
  }
  if (!options.percentiles) return;
  auto on_event = [](void* context, void* data, std::size_t size) -> int {
    if (size < sizeof(intr_chain_event)) return 0;
    intr_chain_event event;
    std::memcpy(&event, data, sizeof event);
    static_cast<Impl*>(context)->add_chain(event);
    return 0;
  };
  ring = ring_buffer__new(bpf_map__fd(skeleton->maps.events), on_event, this, nullptr);
  if (ring == nullptr) throw TraceError("opening the ring buffer failed: " + errno_text(errno));
}

void Tracer::Impl::add_chain(const intr_chain_event& event) {
  bool is_guest = event.kind == INTR_CHAIN_GUEST;
  auto first = static_cast<std::uint32_t>(is_guest ? Stage::request_to_generate : Stage::wake_to_wakeup);
  std::uint32_t stages = is_guest ? 4 : 3;
  std::uint32_t tid = options.per_thread ? event.tid : 0;
  for (std::uint32_t i = 0; i < stages; ++i) {
    distributions[{tid, static_cast<Stage>(first + i)}].add(event.stage_ns[i]);
  }
  distributions[{tid, static_cast<Stage>(first + stages)}].add(event.total_ns);
}

Tracer::Tracer(TracerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl& impl = *impl_;
  if (impl.options.process <= 0) throw TraceError("no process to trace: set TracerOptions::process", 2);
  check_privileges();
  check_btf(impl.options.btf_path);
  if (kill(impl.options.process, 0) != 0 && errno == ESRCH) {
    throw TraceError("process " + std::to_string(impl.options.process) + " does not exist; pass the PID of a running process", 2);
  }
  if (impl.options.binaries.empty()) {
    impl.options.binaries = find_intr_binaries(impl.options.process);
    if (impl.options.binaries.empty()) {
      throw TraceError("process " + std::to_string(impl.options.process) +
                           " maps no file with intr USDT probes; trace a program linked with intr built with "
                           "<sys/sdt.h> (Debian package systemtap-sdt-dev)",
                       2);
    }
  }
  libbpf_log.verbose = impl.options.verbose;
  libbpf_log.recent.clear();
  libbpf_set_print(print_libbpf);

  impl.select_stages();
  impl.load();
  impl.attach();
  impl.since = Clock::now();
}

Tracer::~Tracer() = default;

int Tracer::event_fd() const { return impl_->ring == nullptr ? -1 : ring_buffer__epoll_fd(impl_->ring); }

void Tracer::poll(std::chrono::milliseconds timeout) {
  if (impl_->ring == nullptr) {
    if (timeout.count() > 0) usleep(static_cast<useconds_t>(timeout.count() * 1000));
    return;
  }
  int result = ring_buffer__poll(impl_->ring, static_cast<int>(timeout.count()));
  // EINTR: a signal arrived while waiting; the caller looks at it and polls again.
  if (result < 0 && result != -EINTR) throw TraceError("reading the ring buffer failed: " + errno_text(result));
}

void Tracer::drain() {
  if (impl_->ring == nullptr) return;
  int result = ring_buffer__consume(impl_->ring);
  if (result < 0 && result != -EINTR) throw TraceError("reading the ring buffer failed: " + errno_text(result));
}

std::string_view Tracer::attach_mode() const { return impl_->tp_btf ? "tp_btf" : "raw_tp"; }

namespace {

Counters read_counters(int fd, bool reset) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) throw TraceError("counting the possible CPUs failed: " + errno_text(cpus));
  std::vector<__u64> values(static_cast<std::size_t>(cpus));
  std::array<std::uint64_t, INTR_COUNTER_COUNT> sums{};
  for (__u32 key = 0; key < INTR_COUNTER_COUNT; ++key) {
    if (bpf_map_lookup_elem(fd, &key, values.data()) != 0) continue;
    for (__u64 value : values) sums[key] += value;
    if (reset) {
      std::fill(values.begin(), values.end(), 0);
      bpf_map_update_elem(fd, &key, values.data(), BPF_ANY);
    }
  }
  Counters counters;
  counters.ring_buffer_drops = sums[INTR_COUNTER_RING_BUFFER_DROPS];
  for (std::size_t i = 0; i < counters.generate_results.size(); ++i) {
    counters.generate_results[i] = sums[INTR_COUNTER_GENERATE_DELIVERED + i];
  }
  counters.guest_returned_before_handler = sums[INTR_COUNTER_GUEST_RETURNED_BEFORE_HANDLER];
  counters.wait_ended_before_running = sums[INTR_COUNTER_WAIT_ENDED_BEFORE_RUNNING];
  counters.wait_chains_stale = sums[INTR_COUNTER_WAIT_CHAIN_STALE];
  counters.chains_replaced = sums[INTR_COUNTER_CHAIN_REPLACED];
  counters.negative_deltas = sums[INTR_COUNTER_NEGATIVE_DELTA];
  counters.histogram_map_full = sums[INTR_COUNTER_HISTOGRAM_MAP_FULL];
  return counters;
}

}  // namespace

Report Tracer::report(bool reset) {
  Impl& impl = *impl_;
  if (impl.ring != nullptr) ring_buffer__consume(impl.ring);

  std::map<std::pair<Stage, std::uint32_t>, StageReport> found;
  int fd = bpf_map__fd(impl.skeleton->maps.hists);
  intr_hist_key key{};
  intr_hist_key next{};
  intr_hist_key* previous = nullptr;
  std::vector<intr_hist_key> seen;
  while (bpf_map_get_next_key(fd, previous, &next) == 0) {
    key = next;
    previous = &key;
    seen.push_back(key);
    intr_hist hist{};
    if (bpf_map_lookup_elem(fd, &key, &hist) != 0 || key.stage >= stage_count) continue;
    auto stage = static_cast<Stage>(key.stage);
    if (!impl.selected[key.stage]) continue;
    StageReport& entry = found[{stage, key.tid}];
    entry.stage = stage;
    entry.tid = key.tid;
    for (std::size_t i = 0; i < log2_bucket_count; ++i) {
      entry.histogram[i] = hist.slots[i];
      entry.count += hist.slots[i];
    }
  }
  if (reset) {
    for (const intr_hist_key& old : seen) bpf_map_delete_elem(fd, &old);
  }
  for (auto& [where, distribution] : impl.distributions) {
    auto [tid, stage] = where;
    if (!impl.selected[static_cast<std::size_t>(stage)]) continue;
    StageReport& entry = found[{stage, tid}];
    entry.stage = stage;
    entry.tid = tid;
    entry.distribution = distribution;
  }

  Report report;
  report.percentiles = impl.options.percentiles;
  report.per_thread = impl.options.per_thread;
  report.attach_mode = impl.tp_btf ? "tp_btf" : "raw_tp";
  report.counters = read_counters(bpf_map__fd(impl.skeleton->maps.counters), reset);
  Clock::time_point now = Clock::now();
  report.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - impl.since);
  for (const StageInfo& info : all_stages()) {
    if (!impl.selected[static_cast<std::size_t>(info.stage)]) continue;
    bool any = false;
    for (auto& [where, entry] : found) {
      if (where.first != info.stage) continue;
      report.stages.push_back(std::move(entry));
      any = true;
    }
    // Every selected stage appears, with a count of 0 when nothing arrived.
    if (!any) report.stages.push_back(StageReport{info.stage, 0, {}, 0, {}});
  }
  if (reset) {
    impl.distributions.clear();
    impl.since = now;
  }
  return report;
}

}  // namespace intr::trace
