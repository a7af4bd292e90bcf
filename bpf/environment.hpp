// Checks of what the tracer needs from the kernel, each with a message that
// names what is missing and how to provide it.
#pragma once

#include <string>

namespace intr::trace {

// Throws TraceError unless `path` is a readable file that starts like raw
// BTF. libbpf parses and checks the rest when it loads the programs.
void check_btf(const std::string& path);

}  // namespace intr::trace
