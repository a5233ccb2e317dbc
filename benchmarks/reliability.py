#!/usr/bin/env python3
"""The reliability report: run the fault, race and crash suites and print what held.

Standard library plus pytest. Runs every test marked `hardening` (tests/
test_hardening_*.py: bad input, cloud faults, local faults, races and kills,
secrets, the trust gate, scope properties) and adds up the figures each test
records with `record_property`:

  bad inputs tried   invalid config files, scopes, env values, URLs, CA files, as
                     written cases, plus invalid values hypothesis generated
  faults survived    cloud and local faults the command came through as documented
  writers            processes writing at once, largest run
  kills              SIGKILLs delivered to writing processes
  leak checks        outputs, files, answers and exception texts searched for the token
  attacks tried      hostile inputs from a cloned repository, a terminal, a token or a
                     flag (tests marked `attack`, tests/test_attack_*.py), and how many held
  leaks found        times the token was found (also: a test failing in conftest's
                     `no_token_leaks` check counts as a leak)

    python benchmarks/reliability.py            # the report as a table
    python benchmarks/reliability.py --json
    python benchmarks/reliability.py -- -k cloud -x   # extra pytest arguments

Exits 1 when any test fails or any leak is found.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = (
    "bad_inputs",
    "generated_bad_inputs",
    "faults",
    "writers",
    "kills",
    "leak_checks",
    "leaks",
    "attacks",
)


class Tally:
    """A pytest plugin that sums each test's recorded properties and outcome."""

    def __init__(self) -> None:
        self.tried: Counter = Counter()
        self.survived: Counter = Counter()
        self.max_writers = 0
        self.outcomes: Counter = Counter()
        self.failed: list[str] = []
        self.leak_failures: list[str] = []
        self._bad: set[str] = set()
        self._skipped: set[str] = set()

    def pytest_runtest_logreport(self, report) -> None:
        if report.failed:
            self._bad.add(report.nodeid)
            if report.when == "teardown" and "the token leaked" in report.longreprtext:
                self.leak_failures.append(report.nodeid)
        if report.skipped:
            self._skipped.add(report.nodeid)
        if report.when != "teardown":
            return
        props = Counter()
        for name, value in report.user_properties:
            if name in FIGURES and isinstance(value, int | float):
                props[name] += value
        self.tried.update(props)
        self.max_writers = max(self.max_writers, props.get("writers", 0))
        if report.nodeid in self._bad:
            self.outcomes["failed"] += 1
            self.failed.append(report.nodeid)
        elif report.nodeid in self._skipped:
            self.outcomes["skipped"] += 1
        else:
            self.outcomes["passed"] += 1
            self.survived.update(props)

    def figures(self, elapsed: float) -> dict:
        return {
            "tests": dict(self.outcomes),
            "bad_inputs_tried": self.tried["bad_inputs"],
            "bad_inputs_handled": self.survived["bad_inputs"],
            "generated_bad_inputs": self.tried["generated_bad_inputs"],
            "faults_tried": self.tried["faults"],
            "faults_survived": self.survived["faults"],
            "writers_at_once_max": self.max_writers,
            "writers_total": self.tried["writers"],
            "kills": self.tried["kills"],
            "leak_checks": self.tried["leak_checks"],
            "attacks_tried": self.tried["attacks"],
            "attacks_held": self.survived["attacks"],
            "leaks_found": self.tried["leaks"] + len(self.leak_failures),
            "failed": self.failed,
            "seconds": round(elapsed, 1),
        }


def render(fig: dict) -> str:
    tests = fig["tests"]
    rows = [
        (
            "tests",
            f"{tests.get('passed', 0)} passed, {tests.get('failed', 0)} failed, "
            f"{tests.get('skipped', 0)} skipped",
        ),
        (
            "bad inputs tried",
            f"{fig['bad_inputs_tried']} cases ({fig['bad_inputs_handled']} "
            f"handled as documented) + {fig['generated_bad_inputs']} "
            "generated values",
        ),
        ("faults survived", f"{fig['faults_survived']} of {fig['faults_tried']}"),
        ("writers", f"{fig['writers_at_once_max']} at once at most, {fig['writers_total']} in all"),
        ("kills (SIGKILL)", str(fig["kills"])),
        ("attacks held", f"{fig['attacks_held']} of {fig['attacks_tried']}"),
        ("leak checks", str(fig["leak_checks"])),
        ("leaks found", str(fig["leaks_found"])),
        ("time", f"{fig['seconds']} s"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines += [f"FAILED {nodeid}" for nodeid in fig["failed"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    tally = Tally()
    started = time.monotonic()
    os.chdir(ROOT)
    code = pytest.main(
        [
            "-m",
            "hardening or attack",
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-header",
            "-o",
            "console_output_style=classic",
            os.path.join(ROOT, "tests"),
            *args.pytest_args,
        ],
        plugins=[tally],
    )
    fig = tally.figures(time.monotonic() - started)
    print()
    print(json.dumps(fig, indent=2) if args.json else render(fig))
    if code not in (0, pytest.ExitCode.OK) or fig["leaks_found"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
