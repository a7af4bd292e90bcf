# Builds and runs one consumer project with the compiler and generator of the
# enclosing build. CONSUMER chooses it:
#   find_package      intr installed into a prefix, found with find_package(intr CONFIG)
#   add_subdirectory  intr added with add_subdirectory()
# Run with cmake -P and these variables: CONSUMER, INTR_SOURCE_DIR, WORK_DIR,
# CXX_COMPILER, GENERATOR, MAKE_PROGRAM. Fails with the output of the step
# that failed.
cmake_minimum_required(VERSION 3.25)

foreach(variable CONSUMER INTR_SOURCE_DIR WORK_DIR CXX_COMPILER GENERATOR MAKE_PROGRAM)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "run_consumers.cmake: missing -D${variable}=...")
  endif()
endforeach()

set(consumers_dir ${CMAKE_CURRENT_LIST_DIR})
set(common_options -G ${GENERATOR} -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_BUILD_TYPE=Release)

# Runs one step and stops the script with its output when it fails.
function(run_step name)
  message(STATUS "consumer: ${name}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "consumer: ${name} failed (${result}):\n${output}")
  endif()
  set(step_output "${output}" PARENT_SCOPE)
endfunction()

function(run_app name program)
  run_step("run the ${name} consumer" ${program})
  if(NOT step_output MATCHES "wait result: interrupted")
    message(FATAL_ERROR "consumer: the ${name} consumer printed\n${step_output}\ninstead of 'wait result: interrupted'")
  endif()
  message(STATUS "consumer: ${name}: ${step_output}")
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})

if(CONSUMER STREQUAL "find_package")
  run_step("configure the library" ${CMAKE_COMMAND} -S ${INTR_SOURCE_DIR} -B ${WORK_DIR}/library ${common_options}
           -DINTR_BUILD_TESTS=OFF -DINTR_BUILD_TOOLS=OFF -DINTR_BUILD_BENCH=OFF -DINTR_BUILD_EXAMPLES=OFF
           -DINTR_BUILD_TRACER=OFF -DINTR_BUILD_FUZZ=OFF -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix)
  run_step("build the library" ${CMAKE_COMMAND} --build ${WORK_DIR}/library)
  run_step("install the library" ${CMAKE_COMMAND} --install ${WORK_DIR}/library)
  run_step("configure the find_package consumer" ${CMAKE_COMMAND} -S ${consumers_dir}/find_package
           -B ${WORK_DIR}/consumer ${common_options} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
elseif(CONSUMER STREQUAL "add_subdirectory")
  run_step("configure the add_subdirectory consumer" ${CMAKE_COMMAND} -S ${consumers_dir}/subdirectory
           -B ${WORK_DIR}/consumer ${common_options} -DINTR_SOURCE_DIR=${INTR_SOURCE_DIR})
else()
  message(FATAL_ERROR "run_consumers.cmake: CONSUMER=${CONSUMER} is invalid; use find_package or add_subdirectory")
endif()
run_step("build the ${CONSUMER} consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run_app(${CONSUMER} ${WORK_DIR}/consumer/app)
