#!/usr/bin/env bash
# Checks one transition table with Spin: exports the Promela model with
# intr_promela, runs a safety search (assertions, invalid end states) and, if
# that passes, an acceptance-cycle search of the LTL property under weak
# fairness. Prints one verdict line and writes it to WORKDIR/TABLE/verdict:
#
#   TABLE pass
#   TABLE killed safety|liveness STEPS REASON
#
# STEPS is the depth of Spin's counterexample, in Promela steps.
# Exit status: 0 when the verdict matches --expect (or none was given), 1 when
# it does not, 2 when a tool is missing or fails.
set -euo pipefail

usage() {
  echo "usage: $0 [--expect pass|killed] [--rounds N] INTR_PROMELA TABLE WORKDIR" >&2
  exit 2
}

expect=""
rounds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --expect) expect=${2:-}; shift 2 ;;
    --rounds) rounds=${2:-}; shift 2 ;;
    --*) echo "spin_check: unknown option '$1'" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -eq 3 ] || usage
case "$expect" in
  ""|pass|killed) ;;
  *) echo "spin_check: invalid --expect '$expect'; use pass or killed" >&2; exit 2 ;;
esac
exporter=$(realpath "$1")
table=$2
workdir=$(realpath -m "$3")
cc=${CC:-gcc}

for tool in spin "$cc"; do
  if ! command -v "$tool" >/dev/null; then
    echo "spin_check: '$tool' not found; install the Debian packages spin and gcc (ci/setup.sh does)" >&2
    exit 2
  fi
done

dir="$workdir/$table"
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"

if ! "$exporter" --table "$table" --rounds "$rounds" >model.pml; then
  echo "spin_check: $exporter could not export table '$table'" >&2
  exit 2
fi
if ! spin -a model.pml >spin.log 2>&1; then
  echo "spin_check: spin -a failed on $dir/model.pml:" >&2
  cat spin.log >&2
  exit 2
fi
# -DSAFETY -DNOCLAIM: the safety search leaves the LTL claim out. The
# liveness verifier is compiled only when the safety search passes.
"$cc" -O2 -w -DSAFETY -DNOCLAIM -o pan_safety pan.c

# Runs one search and prints its verdict fields when it found an error.
search() {
  local kind=$1
  shift
  local log="$kind.log"
  "./pan_$kind" -m1000000 -n "$@" >"$log" 2>&1 || true
  if grep -q "max search depth too small" "$log"; then
    echo "spin_check: the $kind search of '$table' hit its depth limit; raise -m in $0" >&2
    exit 2
  fi
  local errors
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$log" | head -n 1)
  if [ -z "$errors" ]; then
    echo "spin_check: the $kind search of '$table' printed no result; see $dir/$log" >&2
    exit 2
  fi
  if [ "$errors" != 0 ]; then
    local first steps
    first=$(grep -m 1 '^pan:1: ' "$log" | sed 's/^pan:1: //')
    steps=$(echo "$first" | sed -n 's/.*(at depth \([0-9]*\)).*/\1/p')
    echo "$table killed $kind ${steps:-0} ${first%% (at depth*}"
  fi
}

verdict=$(search safety)
if [ -z "$verdict" ]; then
  "$cc" -O2 -w -o pan_liveness pan.c
  verdict=$(search liveness -a -f)
fi
if [ -z "$verdict" ]; then
  verdict="$table pass"
fi
echo "$verdict" | tee verdict

outcome=$(echo "$verdict" | cut -d ' ' -f 2)
if [ -n "$expect" ] && [ "$outcome" != "$expect" ]; then
  echo "spin_check: expected '$table' to $expect, but Spin's verdict is: $verdict" >&2
  echo "spin_check: the model and Spin's logs are in $dir" >&2
  exit 1
fi
