// The explorer's speed, measured on the built-in scenarios: executions per
// second, and how many executions DPOR needs against plain DFS.
#pragma once

#include <string>

namespace intr::harness {

// Explores every built-in scenario with DFS and with DPOR and returns the
// figures as text: the machine, a table per scenario, the rates on the
// two-thread scenarios and the time of the whole suite with DPOR.
std::string benchmark_report();

}  // namespace intr::harness
