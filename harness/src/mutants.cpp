#include "mutation_state.hpp"

#include <intr/harness/mutants.hpp>

namespace intr::harness {

namespace {

using intr::detail::Mutation;

std::vector<Mutant> make_mutants() {
  std::vector<Mutant> mutants;
  for (const model::TableMutant& mutant : model::table_mutants) {
    mutants.push_back({mutant.name, mutant.description, &mutant.table, std::nullopt});
  }
  mutants.push_back({"cas_replaced_by_store",
                     "every state change is a load and a plain store instead of a compare-and-swap, so an "
                     "interrupt that lands in between is overwritten (lost interrupt)",
                     nullptr, Mutation::cas_replaced_by_store});
  mutants.push_back({"interrupt_order_relaxed",
                     "interrupt() reads and writes the word with relaxed order, so what the interrupter stored "
                     "before it is not visible to the woken thread (lost happens-before)",
                     nullptr, Mutation::interrupt_order_relaxed});
  mutants.push_back({"start_wait_order_release",
                     "the store of waiting is a release instead of seq_cst, so a reason published with seq_cst "
                     "and a waker that reads the word form a store-buffering race (lost wake-up)",
                     nullptr, Mutation::start_wait_order_release});
  mutants.push_back({"wake_without_futex_wake",
                     "wake() moves the word to woken but never wakes the futex, so a blocked waiter sleeps on "
                     "(lost wake-up)",
                     nullptr, Mutation::wake_without_futex_wake});
  mutants.push_back({"rearm_after_checks",
                     "the wait loop re-arms after its checks instead of after the futex returns, so a wake-up "
                     "between the checks and the re-arm is erased (lost wake-up)",
                     nullptr, Mutation::rearm_after_checks});
  mutants.push_back({"block_without_recheck",
                     "after a wake-up the wait loop blocks again without re-checking its condition (lost wake-up)",
                     nullptr, Mutation::block_without_recheck});
  mutants.push_back({"skip_pending_check",
                     "the wait loop never reads the pending bit before blocking, so it spins on a word that "
                     "never matches (step bound)",
                     nullptr, Mutation::skip_pending_check});
  mutants.push_back({"take_reports_cleared_bit",
                     "take_interrupt() returns the bit after clearing it, so it never reports a request",
                     nullptr, Mutation::take_reports_cleared_bit});
  return mutants;
}

}  // namespace

const std::vector<Mutant>& all_mutants() {
  static const std::vector<Mutant> mutants = make_mutants();
  return mutants;
}

const Mutant* find_mutant(std::string_view name) {
  for (const Mutant& mutant : all_mutants()) {
    if (mutant.name == name) return &mutant;
  }
  return nullptr;
}

ActiveMutant::ActiveMutant(const Mutant& mutant) {
  runtime::mutation_state.table = mutant.table;
  runtime::mutation_state.mutation = mutant.mutation ? static_cast<int>(*mutant.mutation) : -1;
}

ActiveMutant::~ActiveMutant() { runtime::mutation_state = {}; }

}  // namespace intr::harness
