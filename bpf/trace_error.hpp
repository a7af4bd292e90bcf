// The error that the tracer throws, with the exit code that fits it.
#pragma once

#include <stdexcept>
#include <string>

namespace intr::trace {

class TraceError : public std::runtime_error {
 public:
  // exit_code follows the `intr` convention: 2 for a bad value on the
  // command line (a PID, a stage name), 1 for anything else.
  explicit TraceError(const std::string& message, int exit_code = 1)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

}  // namespace intr::trace
