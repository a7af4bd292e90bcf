#include "environment.hpp"

#include "trace_error.hpp"
#include "tracer.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
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
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    throw TraceError("kernel BTF not found at " + path + " (" + std::strerror(errno) +
                     "): the tracer needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, or a BTF file for the "
                     "running kernel named with --btf FILE");
  }
  // A raw BTF file starts with struct btf_header, whose first field is the
  // magic 0xeB9F in the file's byte order. libbpf parses the rest at load.
  std::uint16_t magic = 0;
  std::size_t got = std::fread(&magic, sizeof magic, 1, file);
  std::fclose(file);
  if (got != 1 || (magic != 0xeB9F && magic != 0x9FeB)) {
    throw TraceError(path + " is not a raw BTF file (no BTF magic at its start); name the running kernel's BTF "
                     "with --btf FILE, usually /sys/kernel/btf/vmlinux");
  }
}

}  // namespace intr::trace
