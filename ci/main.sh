#!/usr/bin/env bash
# Sets up the machine, builds the release preset and runs the main job:
# the model checker over every built-in scenario (`intr check`).
# Arguments are passed to the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target intr_cli
./build/release/intr check "$@"
