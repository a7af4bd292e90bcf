// Builds a small consumer of intr in a scratch directory, once through
// find_package() after `cmake --install` and once through add_subdirectory(),
// and runs it: a thread waits and the main thread interrupts it. The work is
// done by run_consumers.cmake with the compiler and generator of this build.
#include "../core/test_support.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

intr_test::ChildResult build_and_run(const std::string& consumer) {
  return intr_test::run_program(INTR_TEST_CMAKE, {
      "-DCONSUMER=" + consumer,
      "-DINTR_SOURCE_DIR=" INTR_TEST_SOURCE_DIR,
      "-DWORK_DIR=" INTR_TEST_WORK_DIR "/" + consumer,
      "-DCXX_COMPILER=" INTR_TEST_CXX_COMPILER,
      "-DGENERATOR=" INTR_TEST_GENERATOR,
      "-DMAKE_PROGRAM=" INTR_TEST_MAKE_PROGRAM,
      "-P", INTR_TEST_CONSUMERS_DIR "/run_consumers.cmake",
  });
}

}  // namespace

// An installed intr works for find_package(intr CONFIG) and intr::intr.
TEST_CASE("find_package consumer builds and runs", "[consumer]") {
  intr_test::ChildResult result = build_and_run("find_package");
  INFO("cmake " << result.describe() << "\nstdout:\n" << result.output << "\nstderr:\n" << result.error_output);
  CHECK(result.exited_with(0));
  CHECK_THAT(result.output, Catch::Contains("find_package: wait result: interrupted"));
}

// add_subdirectory() builds only the library and links as intr::intr.
TEST_CASE("add_subdirectory consumer builds and runs", "[consumer]") {
  intr_test::ChildResult result = build_and_run("add_subdirectory");
  INFO("cmake " << result.describe() << "\nstdout:\n" << result.output << "\nstderr:\n" << result.error_output);
  CHECK(result.exited_with(0));
  CHECK_THAT(result.output, Catch::Contains("add_subdirectory: wait result: interrupted"));
}
