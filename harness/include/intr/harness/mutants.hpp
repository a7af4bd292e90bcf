// Mutants: deliberately broken variants of the core, compiled only into the
// harness. A table mutant swaps in one of the broken transition tables of
// intr/model/mutants.hpp; a code mutant switches on a fault in the code of
// wait_state.hpp. `intr check --mutants` must report every one of them as
// killed: caught by at least one scenario.
#pragma once

#include <intr/model/mutants.hpp>
#include <intr/wait_state.hpp>

#include <optional>
#include <string_view>
#include <vector>

namespace intr::harness {

struct Mutant {
  std::string_view name;
  std::string_view description;
  const model::Table* table = nullptr;              // a table mutant
  std::optional<intr::detail::Mutation> mutation;   // a code mutant
};

// Every mutant: the table mutants first, then the code mutants.
const std::vector<Mutant>& all_mutants();

const Mutant* find_mutant(std::string_view name);

// Runs the model platform with `mutant` while it lives. One at a time.
class ActiveMutant {
 public:
  explicit ActiveMutant(const Mutant& mutant);
  ~ActiveMutant();
  ActiveMutant(const ActiveMutant&) = delete;
  ActiveMutant& operator=(const ActiveMutant&) = delete;
};

}  // namespace intr::harness
