#!/usr/bin/env python3
"""Start-up cost of the installed `ctxscope` command against `python -c pass`.

Standard library only. Sets up a throw-away HOME, a project whose
`.ctxscope.toml` says `scope = "demo"`, and a cloud on loopback (http.server in
a thread) that agrees and authorizes it. One warm-up run fills the cloud cache;
then every round runs `python -c pass` (with the interpreter the command itself
runs on) and each case, in a shuffled order, and the medians are compared.
Peak memory is each case's maximum resident set size, read with
resource.getrusage(RUSAGE_CHILDREN) in a wrapper process that runs only it.

    python benchmarks/bench_cli.py              # 40 rounds
    python benchmarks/bench_cli.py -n 100 --json
    python benchmarks/bench_cli.py --command .venv/bin/ctxscope

Cases (the start-up targets in brackets):
  resolve          `ctxscope resolve`, cloud answer cached            [<= 5x]
  status           `ctxscope status`, the table                       [<= 20x]
  diff             `ctxscope diff`
  hook             `ctxscope hook bash --run`, what the startup snippet runs
  prompt           `ctxscope prompt`
  completion       one TAB: bash sources ctxscope/data/completions/ctxscope.bash and
                   completes `ctxscope sync --direction <TAB>`       [<= 10x]
  status-full-app  `status` through the full Typer app (cli.run), the path
                   the fast path avoids; see docs/explanation/performance.md

Exits 1 when a case fails, makes an HTTP request with the cache fresh, or
misses its target.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer

from _cloud import FakeCloud as _Cloud

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = {"resolve": 5.0, "status": 20.0, "completion": 10.0}


class FakeCloud(_Cloud):
    scope = "demo"


def find_command(given: str | None) -> str:
    if given:
        return os.path.abspath(given)
    beside = os.path.join(os.path.dirname(sys.executable), "ctxscope")
    found = beside if os.path.exists(beside) else shutil.which("ctxscope")
    if not found:
        sys.exit("bench: no installed `ctxscope` found; pass --command PATH")
    return found


def interpreter_of(command: str) -> str:
    """The Python the console script runs on (its shebang), for a fair `python -c pass`."""
    with open(command, "rb") as fh:
        first = fh.readline().decode(errors="replace").strip()
    if first.startswith("#!") and "python" in first:
        return first[2:].split()[0]
    return sys.executable


def environment(base: str, url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CTXSCOPE_", "CTX_SCOPE"))}
    env.update(
        HOME=base,
        XDG_CONFIG_HOME=os.path.join(base, ".config"),
        XDG_CACHE_HOME=os.path.join(base, ".cache"),
        XDG_STATE_HOME=os.path.join(base, ".local", "state"),
        NO_PROXY="*",
        CTXSCOPE_CLOUD_URL=url,
        CTXSCOPE_TOKEN="bench-token",
        COLUMNS="120",
        TERM="dumb",
    )
    # Byte-code as an installed package has it: a PYTHONDONTWRITEBYTECODE inherited
    # from a CI or container environment would make every run compile the modules
    # changed since their last .pyc and time the compiler instead of ctxscope.
    for var in ("NO_COLOR", "FORCE_COLOR", "PYTHONDONTWRITEBYTECODE"):
        env.pop(var, None)
    return env


def cases(command: str, python: str, completion_file: str) -> dict[str, list[str]]:
    tab = (
        f"source {completion_file}; COMP_WORDS=(ctxscope sync --direction ''); "
        "COMP_CWORD=3; COMP_LINE='ctxscope sync --direction '; COMP_POINT=${#COMP_LINE}; "
        "_ctxscope; printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    return {
        "python -c pass": [python, "-c", "pass"],
        "resolve": [command, "resolve"],
        "status": [command, "status"],
        "diff": [command, "diff"],
        "hook": [command, "hook", "bash", "--run"],
        "prompt": [command, "prompt"],
        "completion": ["bash", "--norc", "--noprofile", "-c", tab],
        "status-full-app": [
            python,
            "-c",
            "import sys; from ctxscope.cli import run; sys.stdout.flush(); sys.exit(run(['status']))",
        ],
    }


def run_once(argv: list[str], cwd: str, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, done


def peak_rss_kib(argv: list[str], cwd: str, env: dict) -> int:
    """Max RSS of `argv` alone: a wrapper process runs it and reads RUSAGE_CHILDREN."""
    wrapper = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
        "stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *argv], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout
    return int(out.strip())  # KiB on Linux


def print_json(command: str, rounds: int, cases: dict, problems: list[str], **summary) -> None:
    """The `--json` report every benchmark prints: the run, its cases, any summary, problems."""
    report = {"python": sys.version.split()[0], "command": command, "rounds": rounds, "cases": cases}
    print(json.dumps({**report, **summary, "problems": problems}, indent=2))


def check_output(name: str, done: subprocess.CompletedProcess) -> str | None:
    """What is wrong with a case's result, or None."""
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.stderr.strip()[:200]}"
    expect = {
        "resolve": "demo\n",
        "prompt": "demo\n",
        "hook": "",
        "completion": "resolved-to-cloud\nruntime-to-local\n",
    }.get(name)
    if expect is not None and done.stdout != expect and sorted(done.stdout.split()) != sorted(expect.split()):
        return f"unexpected stdout {done.stdout!r}"
    if name in ("status", "status-full-app") and "SYNCED" not in done.stdout:
        return f"unexpected stdout {done.stdout[:200]!r}"
    if name == "hook" and done.stderr:
        return f"hook printed {done.stderr!r} while in sync"
    return None


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
    completion_file = os.path.join(ROOT, "ctxscope", "data", "completions", "ctxscope.bash")
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
        # A long TTL keeps the warm-up's answer fresh for the whole run.
        with open(os.path.join(base, ".config", "ctxscope", "config.toml"), "w") as fh:
            fh.write("[cloud]\ncache_ttl = 86400\n")
        table = cases(command, python, completion_file)

        for name, argv in table.items():  # warm-up: fill the cache, the page cache, .pyc
            _, done = run_once(argv, repo, env)
            problem = check_output(name, done)
            if problem:
                problems.append(f"{name}: {problem}")
        hits_before = FakeCloud.hits

        samples: dict[str, list[float]] = {name: [] for name in table}
        order = list(table)
        shuffle = random.Random(4)
        for _ in range(args.rounds):
            shuffle.shuffle(order)
            for name in order:
                elapsed, _done = run_once(table[name], repo, env)
                samples[name].append(elapsed)
        requests = FakeCloud.hits - hits_before
        if requests:
            problems.append(f"{requests} HTTP requests with the cloud answer cached")
        peaks = {name: peak_rss_kib(argv, repo, env) for name, argv in table.items()}
    server.shutdown()

    base_ms = statistics.median(samples["python -c pass"]) * 1000
    results = {}
    for name in table:
        median_ms = statistics.median(samples[name]) * 1000
        ratio = median_ms / base_ms
        target = TARGETS.get(name)
        results[name] = {
            "median_ms": round(median_ms, 1),
            "ratio": round(ratio, 2),
            "target": target,
            "met": None if target is None else ratio <= target,
            "peak_rss_mib": round(peaks[name] / 1024, 1),
        }
        if target is not None and ratio > target:
            problems.append(f"{name}: {ratio:.1f}x is over its target of {target:g}x")

    if args.json:
        print_json(command, args.rounds, results, problems)
    else:
        print(f"ctxscope start-up, {args.rounds} rounds, medians; interpreter {python}")
        print(f"  {'case':<16} {'median':>9} {'ratio':>7} {'target':>7} {'peak RSS':>9}")
        for name, r in results.items():
            target = f"<={r['target']:g}x" if r["target"] else ""
            print(
                f"  {name:<16} {r['median_ms']:>6.1f} ms {r['ratio']:>6.2f}x {target:>7} "
                f"{r['peak_rss_mib']:>5.1f} MiB"
            )
        for problem in problems:
            print(f"  problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
