// The built-in scenarios that `intr check` explores: each pits the real core
// against one race of interrupt, wake, timeout, wait and guest code.
#pragma once

#include <intr/harness/scenario.hpp>

#include <string_view>
#include <vector>

namespace intr::harness {

// Every built-in scenario, in the order `intr check --list` prints them.
const std::vector<Scenario>& builtin_scenarios();

// Returns the built-in scenario called `name`, or nullptr.
const Scenario* find_builtin_scenario(std::string_view name);

}  // namespace intr::harness
