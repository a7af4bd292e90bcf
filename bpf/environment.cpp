#include "environment.hpp"

#include "trace_error.hpp"
#include "tracer.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace intr::trace {
namespace {

bool has_capability(int capability) {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  auto word = static_cast<std::size_t>(capability / 32);
  std::uint32_t bit = std::uint32_t{1} << (capability % 32);
  return (data[word].effective & bit) != 0;
}

}  // namespace

void check_privileges() {
  if (has_capability(CAP_SYS_ADMIN)) return;
  std::vector<std::string> missing;
  if (!has_capability(CAP_BPF)) missing.emplace_back("CAP_BPF");
  if (!has_capability(CAP_PERFMON)) missing.emplace_back("CAP_PERFMON");
  if (missing.empty()) return;
  std::string list = missing.front();
  if (missing.size() > 1) list += " and " + missing.back();
  throw TraceError("loading BPF programs needs root, or the capabilities CAP_BPF and CAP_PERFMON; this process (uid " +
                   std::to_string(geteuid()) + ") lacks " + list +
                   ". Run intr trace as root, or grant them with: setcap cap_bpf,cap_perfmon+ep intr");
}

void check_btf(const std::string& path) {
  if (access(path.c_str(), R_OK) != 0) {
    throw TraceError("kernel BTF not found at " + path + " (" + std::strerror(errno) +
                     "): the tracer needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, or a BTF file for the "
                     "running kernel named with --btf FILE");
  }
  btf* parsed = btf__parse(path.c_str(), nullptr);
  if (parsed == nullptr) {
    throw TraceError(path + " is not a readable BTF file (" + std::strerror(errno) +
                     "); name the running kernel's BTF with --btf FILE, usually /sys/kernel/btf/vmlinux");
  }
  btf__free(parsed);
}

bool kernel_supports_tp_btf() {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return false;
  int type_id = btf__find_by_name_kind(vmlinux, "btf_trace_sched_switch", BTF_KIND_TYPEDEF);
  btf__free(vmlinux);
  if (type_id < 0) return false;

  // r0 = 0; exit
  bpf_insn program[2]{};
  program[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  program[0].dst_reg = BPF_REG_0;
  program[1].code = BPF_JMP | BPF_EXIT;
  bpf_prog_load_opts options{};
  options.sz = sizeof options;
  options.expected_attach_type = BPF_TRACE_RAW_TP;
  options.attach_btf_id = static_cast<std::uint32_t>(type_id);
  int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "intr_probe", "GPL", program, 2, &options);
  if (fd < 0) return false;
  close(fd);
  return true;
}

}  // namespace intr::trace
