// Checks of what the tracer needs from the kernel, each with a message that
// says what is missing and how to provide it.
#pragma once

#include <string>

namespace intr::trace {

// Throws TraceError unless `path` is a readable BTF file.
void check_btf(const std::string& path);

// True when the running kernel loads tp_btf programs (BTF-typed raw
// tracepoints), probed by loading an empty one for sched_switch.
bool kernel_supports_tp_btf();

}  // namespace intr::trace
