// The `intr` program: one binary with a subcommand per job.
#include "command.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  CLI::App app{"intr: interruptible threads for C++, with a model checker and a latency tracer", "intr"};
  app.set_version_flag("--version", INTR_VERSION);
  // At most one. Requiring exactly one would make CLI11 report a mistyped
  // subcommand as a missing one; this way it names the unexpected word.
  app.require_subcommand(0, 1);
  app.fallthrough(false);

  intr::tools::Action action;
  intr::tools::add_demo_command(app, action);
#if INTR_HAVE_BENCH
  intr::tools::add_bench_command(app, action);
#endif
#if INTR_HAVE_CHECK
  intr::tools::add_check_command(app, action);
#endif
#if INTR_HAVE_TRACE
  intr::tools::add_trace_command(app, action);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return intr::tools::exit_usage;
  }

  try {
    if (!action) {
      std::fprintf(stderr, "intr: a subcommand is required\nRun with --help for the list.\n");
      return intr::tools::exit_usage;
    }
    return action();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "intr: %s\n", e.what());
    return intr::tools::exit_property_failed;
  }
}
