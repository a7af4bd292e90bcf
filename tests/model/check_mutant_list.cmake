# Fails when `intr_promela --list` differs from EXPECTED (a CMake list).
# Run with: cmake -D PROMELA=... -D EXPECTED=... -P check_mutant_list.cmake
execute_process(COMMAND ${PROMELA} --list OUTPUT_VARIABLE listed RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PROMELA} --list failed with status ${status}")
endif()
string(STRIP "${listed}" listed)
string(REPLACE "\n" ";" listed "${listed}")
if(NOT listed STREQUAL EXPECTED)
  message(FATAL_ERROR "intr_promela --list prints '${listed}' but tests/model/CMakeLists.txt found '${EXPECTED}' in "
                      "mutants.hpp; keep each mutant's name on its own line as '    {\"name\",'")
endif()
