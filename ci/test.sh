#!/usr/bin/env bash
# Sets up the machine, then builds and runs every test: the dev build, the
# ASan+UBSan build, the TSan build (concurrency tests), and the fuzz smoke
# runs. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh

jobs=$(nproc)
run_preset() {
  local preset=$1
  echo "== preset $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  ctest --preset "$preset" -j "$jobs" --timeout 900
}

run_preset dev
run_preset asan
run_preset tsan
if [ -f fuzz/CMakeLists.txt ]; then
  run_preset fuzz
fi
echo "ci/test.sh: all presets passed"
