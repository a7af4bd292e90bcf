#!/usr/bin/env python3
"""Compares Spin's verdict on each table mutant with the model checker's.

Spin checks the abstract Promela model (spin_check.sh writes one verdict file
per table); `intr check --mutants --json` runs the real core under the
harness. Both should kill every table mutant. A mutant that one kills and the
other does not points to a property or a scenario that one side lacks.

Exit status: 0 when they agree on every table mutant, 1 when they disagree,
2 when an input is missing or invalid.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path


def fail(message: str) -> None:
    print(f"cross_check: {message}", file=sys.stderr)
    sys.exit(2)


def table_mutants(promela: str) -> list[str]:
    listing = subprocess.run([promela, "--list"], capture_output=True, text=True)
    if listing.returncode != 0:
        fail(f"'{promela} --list' failed: {listing.stderr.strip()}")
    return [name for name in listing.stdout.split() if name != "correct"]


def spin_verdict(verdicts: Path, mutant: str) -> str:
    path = verdicts / mutant / "verdict"
    if not path.is_file():
        fail(f"{path} is missing; run the Spin tests first (ctest -R spin_)")
    fields = path.read_text().split()
    if len(fields) < 2 or fields[1] not in ("pass", "killed"):
        fail(f"{path} does not hold a verdict line; rerun spin_check.sh for {mutant}")
    return fields[1]


def harness_verdicts(intr: str, extra: list[str]) -> dict[str, bool]:
    run = subprocess.run([intr, "check", "--mutants", "--json", *extra], capture_output=True, text=True)
    # Exit 1 means a property failed, which is what killed mutants do.
    if run.returncode not in (0, 1):
        fail(f"'{intr} check --mutants --json' exited with {run.returncode}: {run.stderr.strip()}")
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError as error:
        fail(f"'{intr} check --mutants --json' printed invalid JSON: {error}")
    mutants = report.get("mutants") if isinstance(report, dict) else None
    if not isinstance(mutants, list):
        fail(f"'{intr} check --mutants --json' printed no \"mutants\" array")
    verdicts = {}
    for entry in mutants:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                or not isinstance(entry.get("killed"), bool):
            fail(f"invalid mutant entry in the harness report: {entry!r}")
        verdicts[entry["name"]] = entry["killed"]
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intr", required=True, help="the intr program, built with the harness")
    parser.add_argument("--promela", required=True, help="the intr_promela program")
    parser.add_argument("--verdicts", required=True, type=Path, help="the folder where spin_check.sh wrote verdicts")
    parser.add_argument("--check-option", action="append", default=[], dest="check_options",
                        help="an extra option for `intr check --mutants`, such as a time budget; repeatable")
    args = parser.parse_args()

    mutants = table_mutants(args.promela)
    harness = harness_verdicts(args.intr, args.check_options)

    disagreements = 0
    print(f"{'table mutant':45} {'spin':8} {'harness':8}")
    for mutant in mutants:
        spin = spin_verdict(args.verdicts, mutant)
        if mutant not in harness:
            print(f"{mutant:45} {spin:8} {'missing':8} <- intr check --mutants does not run this table mutant")
            disagreements += 1
            continue
        checker = "killed" if harness[mutant] else "pass"
        note = "" if checker == spin else " <- the verdicts differ"
        print(f"{mutant:45} {spin:8} {checker:8}{note}")
        if checker != spin:
            disagreements += 1
    others = sorted(set(harness) - set(mutants))
    if others:
        print(f"not in the abstract model (harness only): {', '.join(others)}")
    if disagreements:
        print(f"cross_check: Spin and the harness disagree on {disagreements} table mutant(s)", file=sys.stderr)
        return 1
    print(f"cross_check: Spin and the harness agree on all {len(mutants)} table mutants")
    return 0


if __name__ == "__main__":
    sys.exit(main())
