#!/usr/bin/env python3
"""What `ctxscope exec` adds to a launch, against `ctxscope resolve` and `python -c pass`.

Standard library only; the same set-up as bench_cli.py (a throw-away HOME, a
project whose `.ctxscope.toml` says `scope = "demo"`, a cloud on loopback that
agrees and authorizes it, its answer cached by a warm-up run). Each round runs,
in a shuffled order:

  python -c pass      the interpreter's own start-up, the unit of every ratio
  true                /bin/true alone: what the launched program costs by itself
  resolve             `ctxscope resolve`
  exec                `ctxscope exec -- true`
  exec-full-app       the same through the full Typer app (the path the fast path avoids)

The cost of the gate is `exec - true`; the target is that it is no more than
`resolve` (within 10% for noise on a shared machine). Exits 1 when a case fails,
makes an HTTP request with the cache fresh, or misses the target.

    python benchmarks/bench_exec.py            # 40 rounds
    python benchmarks/bench_exec.py -n 100 --json
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer

from bench_cli import FakeCloud, environment, find_command, interpreter_of, print_json, run_once

TOLERANCE = 1.10


def cases(command: str, python: str, true: str) -> dict[str, list[str]]:
    return {
        "python -c pass": [python, "-c", "pass"],
        "true": [true],
        "resolve": [command, "resolve"],
        "exec": [command, "exec", "--", true],
        "exec-full-app": [
            python,
            "-c",
            f"import sys; from ctxscope.cli import run; sys.exit(run(['exec', '--', {true!r}]))",
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=40, help="timed rounds (default 40)")
    parser.add_argument(
        "--command", help="the ctxscope to time (default: beside this interpreter, else on PATH)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    command = find_command(args.command)
    python = interpreter_of(command)
    true = shutil.which("true") or "/bin/true"
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCloud)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    problems: list[str] = []
    with tempfile.TemporaryDirectory() as base:
        env = environment(base, url)
        repo = os.path.join(base, "repo")
        os.makedirs(os.path.join(base, ".config", "ctxscope"))
        os.makedirs(repo)
        with open(os.path.join(repo, ".ctxscope.toml"), "w") as fh:
            fh.write('scope = "demo"\n')
        with open(os.path.join(base, ".config", "ctxscope", "config.toml"), "w") as fh:
            fh.write("[cloud]\ncache_ttl = 86400\n")
        table = cases(command, python, true)
        for name, argv in table.items():  # warm-up: the cloud cache, the page cache, .pyc
            _, done = run_once(argv, repo, env)
            if done.returncode != 0 or done.stdout not in ("", "demo\n"):
                problems.append(
                    f"{name}: exit {done.returncode}, stdout {done.stdout[:80]!r}, "
                    f"stderr {done.stderr.strip()[:200]!r}"
                )
        hits_before = FakeCloud.hits
        samples: dict[str, list[float]] = {name: [] for name in table}
        order = list(table)
        shuffle = random.Random(15)
        for _ in range(args.rounds):
            shuffle.shuffle(order)
            for name in order:
                elapsed, _done = run_once(table[name], repo, env)
                samples[name].append(elapsed)
        requests = FakeCloud.hits - hits_before
        if requests:
            problems.append(f"{requests} HTTP requests with the cloud answer cached")
    server.shutdown()

    medians = {name: statistics.median(s) * 1000 for name, s in samples.items()}
    base_ms = medians["python -c pass"]
    gate_ms = medians["exec"] - medians["true"]
    ratio_to_resolve = gate_ms / medians["resolve"]
    if ratio_to_resolve > TOLERANCE:
        problems.append(
            f"exec adds {gate_ms:.1f} ms, {ratio_to_resolve:.2f}x what resolve "
            f"costs ({medians['resolve']:.1f} ms)"
        )
    results = {
        name: {"median_ms": round(ms, 1), "ratio": round(ms / base_ms, 2)} for name, ms in medians.items()
    }
    summary = {
        "exec_added_ms": round(gate_ms, 1),
        "exec_added_ratio": round(gate_ms / base_ms, 2),
        "exec_added_vs_resolve": round(ratio_to_resolve, 2),
        "target_vs_resolve": TOLERANCE,
    }
    if args.json:
        print_json(command, args.rounds, results, problems, **summary)
    else:
        print(f"ctxscope exec, {args.rounds} rounds, medians; interpreter {python}")
        print(f"  {'case':<16} {'median':>9} {'ratio':>7}")
        for name, r in results.items():
            print(f"  {name:<16} {r['median_ms']:>6.1f} ms {r['ratio']:>6.2f}x")
        print(
            f"  exec adds {gate_ms:.1f} ms ({gate_ms / base_ms:.2f}x python -c pass), "
            f"{ratio_to_resolve:.2f}x resolve (target <= {TOLERANCE:g}x)"
        )
        for problem in problems:
            print(f"  problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
