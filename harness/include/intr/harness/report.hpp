// Failure reports for people: the scenario, the schedule string that
// `intr check --replay` reproduces, what went wrong, then the steps as a
// table and as a Mermaid sequence diagram.
#pragma once

#include <intr/harness/explorer.hpp>

#include <string>

namespace intr::harness {

// The schedule string of `failure` (see intr/harness/format.hpp).
std::string schedule_string(const Scenario& scenario, const Failure& failure);

// One line per step: step, thread, operation, location, value before and after.
std::string step_table(const Failure& failure);

// A Mermaid sequenceDiagram with one participant per thread and one per atomic.
std::string sequence_diagram(const Failure& failure);

// The whole report, in the order: scenario, schedule, what went wrong,
// table, diagram. `mutant` names the mutant that was switched on, if any,
// so that the printed replay command switches it on too.
std::string failure_report(const Scenario& scenario, const Failure& failure, std::string_view mutant = {});

}  // namespace intr::harness
