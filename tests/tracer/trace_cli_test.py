#!/usr/bin/python3
"""Tests of `intr trace` against the real kernel: the built-in workload, the
raw_tp fallback, -p and -- COMMAND targets, SIGTERM, and bad input.

Run one case: trace_cli_test.py CASE --intr PATH --schema PATH. Each case
exits 0 when it passes, 1 when a check fails, and 77 (skipped) when the
process is not root, because loading BPF programs needs it.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
GUEST_STAGES = ["request_to_generate", "generate_to_deliver", "deliver_to_handler", "handler_to_host", "guest_total"]
WAIT_STAGES = ["wake_to_wakeup", "wakeup_to_running", "running_to_return", "wait_total"]


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def run(intr, *arguments, timeout=60, **keywords):
    return subprocess.run([intr, "trace", *arguments], capture_output=True, text=True, timeout=timeout, **keywords)


def parse_report(result):
    check(result.returncode == 0, f"intr trace exited {result.returncode}; stderr:\n{result.stderr}")
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    check(lines, f"no JSON report on stdout:\n{result.stdout}")
    return [json.loads(line) for line in lines]


def validate(report, schema_path):
    import jsonschema  # Debian package python3-jsonschema

    with open(schema_path) as file:
        schema = json.load(file)
    jsonschema.Draft202012Validator(schema).validate(report)


def stages_by_name(report):
    return {stage["name"]: stage for stage in report["stages"]}


def check_every_stage_has_samples(report, names):
    stages = stages_by_name(report)
    for name in names:
        check(name in stages, f"stage {name} is missing from the report")
        check(stages[name]["count"] > 0, f"stage {name} has no samples: {stages[name]}")
        check(stages[name]["samples"] > 0, f"stage {name} has no percentile samples: {stages[name]}")


def check_total_within_stage_bounds(report, parts, total):
    """Each chain's total is the sum of its stages, so the total's median
    lies between the sum of the stage minimums and of the stage maximums."""
    stages = stages_by_name(report)
    low = sum(stages[name]["min_ns"] for name in parts)
    high = sum(stages[name]["max_ns"] for name in parts)
    p50 = stages[total]["p50_ns"]
    check(low <= p50 <= high, f"{total} p50 {p50} ns is outside [{low}, {high}] ns, the sums of the stage min and max")


def case_workload(options):
    """Every stage has samples, the guest count matches the workload's own
    count, totals are consistent with their stages, the JSON follows the
    schema, and the SVG picture renders."""
    with tempfile.TemporaryDirectory() as folder:
        svg = os.path.join(folder, "trace.svg")
        result = run(options.intr, "--json", "-d", "2", "--svg", svg)
        [report] = parse_report(result)
        validate(report, options.schema)
        check_every_stage_has_samples(report, GUEST_STAGES + WAIT_STAGES)

        stages = stages_by_name(report)
        traced = stages["guest_total"]["count"]
        accepted = report["workload"]["signals_accepted"]
        check(accepted > 0, f"the workload delivered no guest interrupt by signal: {report['workload']}")
        check(abs(traced - accepted) <= max(1, accepted // 100),
              f"{traced} guest interrupts traced, but the workload's handler accepted {accepted} (more than 1% apart)")
        # Every guest interrupt sent by signal either finished its chain or
        # came back before its handler ran.
        sent = report["workload"]["kinds"]["guest_signal"]["requested"]
        accounted = traced + report["counters"]["guest_returned_before_handler"]
        check(abs(accounted - sent) <= max(1, sent // 100),
              f"{accounted} guest interrupts traced or counted early, but the workload sent {sent} signals")
        check(report["drops"] == 0, f"the ring buffer dropped {report['drops']} chains at 1000 interrupts/s")
        check_total_within_stage_bounds(report, GUEST_STAGES[:-1], "guest_total")
        check_total_within_stage_bounds(report, WAIT_STAGES[:-1], "wait_total")

        with open(svg) as file:
            picture = file.read()
        check(picture.startswith("<?xml") and picture.rstrip().endswith("</svg>"), "the SVG file is incomplete")
        for name in GUEST_STAGES + WAIT_STAGES:
            check(name in picture, f"the SVG picture has no panel for {name}")
        converter = shutil.which("rsvg-convert")
        check(converter is not None, "rsvg-convert is missing (Debian package librsvg2-bin)")
        png = os.path.join(folder, "trace.png")
        converted = subprocess.run([converter, "-o", png, svg], capture_output=True, text=True)
        check(converted.returncode == 0, f"rsvg-convert rejected the SVG: {converted.stderr}")
        with open(png, "rb") as file:
            check(file.read(8) == b"\x89PNG\r\n\x1a\n", "rsvg-convert wrote no PNG")


def case_raw_tp(options):
    """The raw_tp programs record every stage too, with intervals and per
    thread histograms."""
    result = run(options.intr, "--json", "-d", "1.2", "-i", "0.5", "-L", "--attach", "raw_tp")
    reports = parse_report(result)
    check(len(reports) >= 3, f"{len(reports)} interval reports for 1.2 s at 0.5 s intervals, expected 3")
    for number, report in enumerate(reports, start=1):
        validate(report, options.schema)
        check(report["attach"] == "raw_tp", f"interval {number} used {report['attach']}, not raw_tp")
        check(report["interval"] == number, f"interval numbers out of order: {report['interval']} at {number}")
        check(report["per_thread"], "-L did not make per-thread histograms")
    merged = {"stages": [stage for report in reports for stage in report["stages"]]}
    counts = {}
    for stage in merged["stages"]:
        counts[stage["name"]] = counts.get(stage["name"], 0) + stage["count"]
    for name in GUEST_STAGES + WAIT_STAGES:
        check(counts.get(name, 0) > 0, f"stage {name} has no samples with raw_tp")
    tids = {stage["tid"] for stage in merged["stages"] if stage["count"] > 0}
    check(0 not in tids and len(tids) >= 2, f"per-thread histograms name threads {sorted(tids)}, expected 2 workers")


def case_targets(options):
    """-p traces a running process and -- COMMAND a command started paused,
    with its own options after --."""
    demo = subprocess.Popen([options.intr, "demo", "--duration", "6"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        result = run(options.intr, "--json", "-p", str(demo.pid), "-d", "1", "-L", "--stage", "guest_total,wait_total")
        [report] = parse_report(result)
        validate(report, options.schema)
        names = sorted({stage["name"] for stage in report["stages"]})
        check(names == ["guest_total", "wait_total"], f"--stage guest_total,wait_total reported {names}")
        for name in names:
            check(sum(stage["count"] for stage in report["stages"] if stage["name"] == name) > 0,
                  f"stage {name} has no samples")

        # -t keeps only the chains aimed at one thread: one of the workers seen above.
        worker = max(stage["tid"] for stage in report["stages"] if stage["name"] == "wait_total" and stage["count"])
        result = run(options.intr, "--json", "-t", str(worker), "-L", "-d", "1", "--stage", "wait_total")
        [report] = parse_report(result)
        tids = {stage["tid"] for stage in report["stages"]}
        check(tids == {worker}, f"-t {worker} -L reported threads {sorted(tids)}")
        check(report["stages"][0]["count"] > 0, f"-t {worker} recorded no wait of that thread")
    finally:
        demo.kill()
        demo.wait()

    result = run(options.intr, "--json", "--stage", "generate_to_deliver", "--", options.intr, "demo", "--duration",
                 "0.5", "--json")
    check(result.returncode == 0, f"intr trace -- intr demo exited {result.returncode}: {result.stderr}")
    documents = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"attach"')]
    check(len(documents) == 1, f"expected one trace report, got:\n{result.stdout}")
    report = documents[0]
    validate(report, options.schema)
    check(report["command_exit_status"] == 0, f"the command's exit status is {report.get('command_exit_status')}")
    check(report["elapsed_ns"] < 1.8e9, f"the trace lasted {report['elapsed_ns']} ns: --duration 0.5 reached intr trace")
    check_every_stage_has_samples(report, ["generate_to_deliver"])


def intr_programs():
    """IDs of the BPF programs named intr_* and of the links that use them."""
    bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    programs = json.loads(subprocess.run([bpftool, "prog", "show", "--json"], capture_output=True, text=True,
                                         check=True).stdout)
    ids = {program["id"] for program in programs if program.get("name", "").startswith("intr_")}
    links = json.loads(subprocess.run([bpftool, "link", "show", "--json"], capture_output=True, text=True,
                                      check=True).stdout)
    return ids, {link["id"] for link in links if link.get("prog_id") in ids}


def case_sigterm(options):
    """SIGTERM prints the final report, exits 0 and leaves no program or link
    of the tracer in the kernel."""
    before_programs, before_links = intr_programs()
    tracer = subprocess.Popen([options.intr, "trace", "--json", "-d", "60"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    line = tracer.stderr.readline()
    check("attached" in line, f"intr trace did not report that it attached: {line!r}")
    time.sleep(0.5)
    programs, links = intr_programs()
    ours = programs - before_programs
    our_links = links - before_links
    check(ours and our_links, "no intr_ program or link is in the kernel while intr trace runs")
    tracer.send_signal(signal.SIGTERM)
    stdout, stderr = tracer.communicate(timeout=30)
    check(tracer.returncode == 0, f"intr trace exited {tracer.returncode} after SIGTERM: {stderr}")
    check("Terminated" in stderr, f"intr trace did not say that SIGTERM ended it: {stderr}")
    report = json.loads(stdout.strip().splitlines()[-1])
    validate(report, options.schema)
    check(report["stages"] and "workload" in report, "the final report after SIGTERM is incomplete")
    # The kernel frees a program after its last reference goes, which can lag
    # the exit by an RCU grace period.
    for _ in range(50):
        programs, links = intr_programs()
        if not (programs & ours) and not (links & our_links):
            break
        time.sleep(0.1)
    check(not (programs & ours), f"programs {sorted(programs & ours)} of intr trace remain after it exited")
    check(not (links & our_links), f"links {sorted(links & our_links)} of intr trace remain after it exited")


def expect_error(result, code, *phrases):
    check(result.returncode == code, f"exit code {result.returncode}, expected {code}; stderr: {result.stderr}")
    for phrase in phrases:
        check(re.search(phrase, result.stderr), f"stderr lacks {phrase!r}: {result.stderr}")


def case_errors(options):
    """Bad input gets a message naming the value and the fix, and a non-zero
    exit code."""
    unprivileged = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", options.intr, "trace"],
                                  capture_output=True, text=True, timeout=60)
    expect_error(unprivileged, 1, "CAP_BPF", "CAP_PERFMON", "root")

    expect_error(run(options.intr, "--btf", "/nonexistent/vmlinux"), 1, "BTF not found at /nonexistent/vmlinux",
                 "--btf")
    expect_error(run(options.intr, "--btf", "/etc/hostname"), 1, "/etc/hostname is not a raw BTF file")
    expect_error(run(options.intr, "-p", "0"), 2, "'0' is not a PID")
    expect_error(run(options.intr, "-p", "abc"), 2, "'abc' is not a PID")
    expect_error(run(options.intr, "-p", "4194303"), 2, "process 4194303 does not exist")
    expect_error(run(options.intr, "--stage", "deliver"), 2, "'deliver' is not a stage", "generate_to_deliver")
    expect_error(run(options.intr, "--", "/bin/true"), 2, "/bin/true has no intr USDT probes")
    expect_error(run(options.intr, "-p", "1", "--", "ls"), 2, "both name a target")
    expect_error(run(options.intr, "--svg", "/nonexistent/trace.svg"), 2, "cannot write the SVG picture to /nonexistent")

    demo = subprocess.Popen([options.intr, "demo", "--duration", "1"], stdout=subprocess.DEVNULL)
    time.sleep(0.2)
    exited = run(options.intr, "-p", str(demo.pid), "-d", "30")
    demo.wait()
    expect_error(exited, 1, f"process {demo.pid} exited during tracing")
    check("count" in exited.stdout, f"no report before the exit message: {exited.stdout}")


CASES = {
    "workload": case_workload,
    "raw_tp": case_raw_tp,
    "targets": case_targets,
    "sigterm": case_sigterm,
    "errors": case_errors,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--intr", required=True, help="the intr program")
    parser.add_argument("--schema", required=True, help="docs/trace.schema.json")
    options = parser.parse_args()
    if os.geteuid() != 0:
        print(f"skipped: {options.case} loads BPF programs and needs root (uid {os.geteuid()})")
        return SKIP
    try:
        CASES[options.case](options)
    except CheckFailed as failure:
        print(f"FAILED {options.case}: {failure}")
        return 1
    print(f"passed {options.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
