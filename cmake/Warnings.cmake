# Warning flags for the project's own targets. intr_warnings is an interface
# library that every target links privately, so consumers never inherit it.
add_library(intr_warnings INTERFACE)
target_compile_options(intr_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Wnon-virtual-dtor
  $<$<BOOL:${INTR_WERROR}>:-Werror>)
