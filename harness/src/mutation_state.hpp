// Which mutant the model platform runs: set by ActiveMutant, read by
// ModelPlatform::transition and ModelPlatform::mutated.
#pragma once

#include <intr/model/mutants.hpp>

namespace intr::harness::runtime {

struct MutationState {
  const model::Table* table = nullptr;  // null: the correct table
  int mutation = -1;                    // a detail::Mutation, or -1 for none
};

inline MutationState mutation_state;

}  // namespace intr::harness::runtime
