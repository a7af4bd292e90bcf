// The fast paths: operations that do not block, timed on one thread against
// bare atomic operations that make the same changes to a word.
#pragma once

#include <intr_bench/suite.hpp>

#include <vector>

namespace intr::bench {

// Measures every fast-path case with `samples` batches per case and per
// baseline, alternating between them, on the calling thread.
std::vector<CaseResult> measure_fast_paths(std::size_t samples);

}  // namespace intr::bench
