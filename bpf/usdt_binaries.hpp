// Finding the files that carry the USDT probes of provider `intr`: the
// executable when the library is linked statically, libintr.so otherwise.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace intr::trace {

// True when the ELF file at `path` has a .note.stapsdt note whose provider
// is `intr`. False for files that are not ELF or cannot be opened.
bool has_intr_probes(const std::string& path);

// The files mapped into process `pid` that have intr probes, each once, in
// the order of /proc/PID/maps. Throws TraceError when the map cannot be
// read (the process does not exist or is not visible).
std::vector<std::string> find_intr_binaries(pid_t pid);

// The file that execvp() would run for `command`: `command` itself when it
// contains a slash, else the first executable match in PATH. Empty when
// none is found.
std::string resolve_command(const std::string& command);

}  // namespace intr::trace
