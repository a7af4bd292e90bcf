# intr_harness_format: the text formats of the model checker (schedule
# strings, JSON and JUnit reports, merging sharded reports). It depends on
# neither the core nor the explorer, so the fuzz targets and tools can link it
# alone. Included from harness/CMakeLists.txt, and from fuzz/ and tests/ when
# the harness is not part of the build.
include_guard(GLOBAL)

find_package(nlohmann_json 3 CONFIG REQUIRED)
find_package(ZLIB REQUIRED)

add_library(intr_harness_format STATIC
  ${CMAKE_CURRENT_LIST_DIR}/src/format.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/report_json.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/report_merge.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/report_junit.cpp)
target_include_directories(intr_harness_format PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(intr_harness_format
  PRIVATE nlohmann_json::nlohmann_json ZLIB::ZLIB $<BUILD_INTERFACE:intr_warnings>)
target_compile_features(intr_harness_format PUBLIC cxx_std_20)
