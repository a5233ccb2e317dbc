#!/usr/bin/env python3
"""What the shell hook costs at a prompt where the directory did not change.

Standard library only. For bash, zsh and fish: an interactive shell started with
the snippet `ctxscope hook SHELL` prints, fed N commands (`true`, one prompt
each) in the same directory, against the same shell with an empty startup file.
It reports the extra time per prompt (the difference of the two medians over
rounds, divided by N; the first check at start is excluded by subtracting a run
with no prompts) and how many `ctxscope` processes the prompts started: bash
runs the hook's function before every prompt and it returns at once when $PWD
is unchanged; zsh (chpwd) and fish (a PWD event) do not run it at all. The
reference is `python -c pass`, timed in the same run.

    python benchmarks/bench_hook_prompt.py            # 300 prompts, 5 rounds
    python benchmarks/bench_hook_prompt.py -n 1000 --json

Exits 1 when a prompt in the same directory started a process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ARGV = {
    "bash": lambda rc: ["bash", "--rcfile", rc, "-i"],
    "zsh": lambda rc: ["zsh", "-f", "-i", "-c", f"source {rc}; source /dev/stdin"],
    "fish": lambda rc: ["fish", "--no-config", "-i", "-C", f"source {rc}"],
}


def session(shell: str, rc: str, prompts: int, env: dict, cwd: str) -> float:
    """Seconds for an interactive `shell` reading `rc`, then `prompts` commands."""
    text = "true\n" * prompts + "exit\n"
    start = time.perf_counter()
    subprocess.run(ARGV[shell](rc), input=text, capture_output=True, text=True, env=env, cwd=cwd)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--prompts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    real = shutil.which("ctxscope", path=os.path.dirname(sys.executable)) or shutil.which("ctxscope")
    if not real:
        sys.exit("bench: no installed `ctxscope`")

    starts = []
    for _ in range(15):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        starts.append(time.perf_counter() - t)
    base_us = statistics.median(starts) * 1e6

    results, problems = {}, []
    with tempfile.TemporaryDirectory() as home:
        calls = os.path.join(home, "calls")
        bindir = os.path.join(home, "bin")
        os.makedirs(bindir)
        shim = os.path.join(bindir, "ctxscope")
        with open(shim, "w") as fh:
            fh.write(f'#!/bin/sh\necho "$*" >> {calls}\nexec {real} "$@"\n')
        os.chmod(shim, 0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CTXSCOPE", "CTX_"))}
        env.update(
            HOME=home,
            XDG_CONFIG_HOME=os.path.join(home, ".config"),
            XDG_CACHE_HOME=os.path.join(home, ".cache"),
            XDG_STATE_HOME=os.path.join(home, ".state"),
            TERM="dumb",
            PATH=bindir + os.pathsep + env.get("PATH", ""),
        )
        empty = os.path.join(home, "rc.empty")
        open(empty, "w").close()
        for shell in ARGV:
            if shutil.which(shell) is None:
                continue
            snippet = subprocess.run(
                [real, "hook", shell], capture_output=True, text=True, check=True, env=env
            ).stdout
            rc = os.path.join(home, f"rc.{shell}")
            with open(rc, "w") as fh:
                fh.write(snippet)
            if os.path.exists(calls):
                os.unlink(calls)
            times: dict[str, list[float]] = {"hook": [], "hook0": [], "none": [], "none0": []}
            for _ in range(args.rounds):
                times["hook"].append(session(shell, rc, args.prompts, env, home))
                times["hook0"].append(session(shell, rc, 0, env, home))
                times["none"].append(session(shell, empty, args.prompts, env, home))
                times["none0"].append(session(shell, empty, 0, env, home))
            med = {k: statistics.median(v) for k, v in times.items()}
            extra = (med["hook"] - med["hook0"]) - (med["none"] - med["none0"])
            per_us = max(extra, 0.0) / args.prompts * 1e6
            with open(calls) as fh:
                # Each session checks once at start; anything beyond that came from a prompt.
                started = len(fh.read().splitlines()) - 2 * args.rounds
            results[shell] = {
                "per_prompt_us": round(per_us, 1),
                "ratio_to_python_start": round(per_us / base_us, 4),
                "processes_started": started,
            }
            if started:
                problems.append(f"{shell}: {started} processes started at unchanged prompts")

    if args.json:
        print(
            json.dumps(
                {
                    "python_c_pass_us": round(base_us),
                    "prompts": args.prompts,
                    "shells": results,
                    "problems": problems,
                },
                indent=2,
            )
        )
    else:
        print(
            f"hook cost at a prompt in the same directory, {args.prompts} prompts; "
            f"python -c pass: {base_us / 1000:.1f} ms"
        )
        for shell, r in results.items():
            print(
                f"  {shell:<5} {r['per_prompt_us']:>7.1f} us per prompt "
                f"({r['ratio_to_python_start']:.4f}x python -c pass), "
                f"{r['processes_started']} processes started"
            )
        for problem in problems:
            print(f"  problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
