#!/usr/bin/env bash
# Measures what tracing costs: start-up time and the built-in workload's
# interrupt throughput with no tracer, with intr trace, and with an
# equivalent bpftrace one-liner for the generate_to_deliver stage, all in
# one run of `intr trace --benchmark`. bpftrace's tracepoint probes need
# tracefs, so this script mounts it for the run when it is not mounted and
# unmounts it afterwards. Run as root.
#
# Usage: bench/trace_vs_bpftrace.sh [INTR] [SECONDS_PER_RUN] [INTERRUPTS_PER_SECOND]
set -euo pipefail
intr=${1:-build/release/intr}
seconds=${2:-3}
rate=${3:-1000}
if [ ! -x "$intr" ]; then
  echo "trace_vs_bpftrace: $intr is not an executable; build it with: cmake --preset release && cmake --build --preset release --target intr_cli" >&2
  exit 2
fi

mounted=0
if [ ! -d /sys/kernel/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing
  mounted=1
fi
cleanup() {
  if [ "$mounted" -eq 1 ]; then umount /sys/kernel/tracing; fi
}
trap cleanup EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "bpftrace: $(bpftrace --version 2>/dev/null || echo missing)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$intr" trace --benchmark -d "$seconds" --rate "$rate"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
