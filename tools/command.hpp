// How a subcommand plugs into the `intr` program: it adds itself to the CLI11
// application and stores the function that runs it once parsing succeeded.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace intr::tools {

// Exit codes of every subcommand.
inline constexpr int exit_ok = 0;
inline constexpr int exit_property_failed = 1;
inline constexpr int exit_usage = 2;

// Set by the subcommand that the command line selected; returns the exit code.
using Action = std::function<int()>;

void add_demo_command(CLI::App& app, Action& action);
void add_bench_command(CLI::App& app, Action& action);
void add_check_command(CLI::App& app, Action& action);
void add_trace_command(CLI::App& app, Action& action);

}  // namespace intr::tools
