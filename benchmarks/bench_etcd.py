#!/usr/bin/env python3
"""`ctxscope resolve` with the cloud default in etcd, against the v1 HTTP backend.

Standard library only, plus the `etcd` and `etcdctl` binaries. Starts one etcd
member on free loopback ports in a throw-away data directory, turns on
authentication the way an administrator would (root, a role with read access to
the default and to the scope, a user), sets the default to `demo`, and serves the
v1 contract on loopback (http.server in a thread) for comparison. Each round runs,
in a shuffled order:

  python -c pass         the interpreter's own start-up (the 1x of every ratio)
  resolve http fresh     `ctxscope resolve`, v1 backend, cloud answer cached
  resolve etcd fresh     `ctxscope resolve`, etcd backend, cloud answer cached
  resolve http cold      `ctxscope resolve --refresh`, v1 backend (two GETs)
  resolve etcd cold      `ctxscope resolve --refresh`: log in, read the default,
                         learn the user's roles and permissions

Requests are counted on the servers: the v1 fake counts its hits; etcd's own
Prometheus counter `grpc_server_handled_total` (every gateway call is one gRPC
call inside etcd) is read before and after each phase.

    python benchmarks/bench_etcd.py             # 20 rounds
    python benchmarks/bench_etcd.py -n 50 --json

Exits 1 when a case fails, a fresh-cache case makes a request, or the etcd
backend's fresh-cache ratio is more than 1.25x the http backend's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import ThreadingHTTPServer

from _cloud import FakeCloud as _Cloud
from bench_cli import environment, find_command, interpreter_of, run_once

USER, PASSWORD = "bench", "bench-password-1"
SAME_RATIO = 1.25  # the etcd backend's fresh-cache ratio may be at most this x the http one


class FakeCloud(_Cloud):
    scope = "demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_etcd(data: str) -> tuple[subprocess.Popen, str]:
    client, peer = free_port(), free_port()
    url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    proc = subprocess.Popen(
        [
            shutil.which("etcd") or "etcd",
            "--name",
            "bench",
            "--data-dir",
            data,
            "--listen-client-urls",
            url,
            "--advertise-client-urls",
            url,
            "--listen-peer-urls",
            peer_url,
            "--initial-advertise-peer-urls",
            peer_url,
            "--initial-cluster",
            f"bench={peer_url}",
            "--logger",
            "zap",
            "--log-outputs",
            data + ".log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as resp:
                if b'"true"' in resp.read():
                    return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("bench: etcd did not start")


def etcdctl(url: str, *args: str, root: bool = True) -> None:
    cmd = [shutil.which("etcdctl") or "etcdctl", "--endpoints", url]
    if root:
        cmd += ["--user", "root:root-password-1"]
    subprocess.run([*cmd, *args], check=True, capture_output=True, env={**os.environ, "ETCDCTL_API": "3"})


def handled(url: str) -> int:
    """etcd's count of gRPC calls handled so far (the gateway makes one per request)."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("grpc_server_handled_total{")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=20, help="timed rounds (default 20)")
    parser.add_argument("--command", help="the ctxscope to time")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    command = find_command(args.command)
    python = interpreter_of(command)

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCloud)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    http_url = f"http://127.0.0.1:{server.server_address[1]}"
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as base:
        proc, etcd_url = start_etcd(os.path.join(base, "etcd.data"))
        try:
            etcdctl(etcd_url, "user", "add", "root:root-password-1", root=False)
            etcdctl(etcd_url, "role", "add", "team", root=False)
            for key in ("/ctxscope/default", "/ctxscope/scopes/demo"):
                etcdctl(etcd_url, "role", "grant-permission", "team", "read", key, root=False)
            etcdctl(etcd_url, "user", "add", f"{USER}:{PASSWORD}", root=False)
            etcdctl(etcd_url, "user", "grant-role", USER, "team", root=False)
            etcdctl(etcd_url, "auth", "enable", root=False)
            etcdctl(etcd_url, "put", "/ctxscope/default", "demo")

            homes = {}
            for name in ("http", "etcd"):
                home = os.path.join(base, name)
                os.makedirs(os.path.join(home, ".config", "ctxscope"))
                os.makedirs(os.path.join(home, "repo"))
                with open(os.path.join(home, "repo", ".ctxscope.toml"), "w") as fh:
                    fh.write('scope = "demo"\n')
                with open(os.path.join(home, ".config", "ctxscope", "config.toml"), "w") as fh:
                    fh.write("[cloud]\ncache_ttl = 86400\ntimeout = 10\n")
                env = environment(home, http_url)
                if name == "etcd":
                    env.update(
                        CTXSCOPE_CLOUD_BACKEND="etcd",
                        CTXSCOPE_CLOUD_URL=etcd_url,
                        CTXSCOPE_ETCD_USER=USER,
                        CTXSCOPE_ETCD_PASSWORD=PASSWORD,
                    )
                    env.pop("CTXSCOPE_TOKEN", None)
                homes[name] = (os.path.join(home, "repo"), env)

            table = {
                "python -c pass": ([python, "-c", "pass"], "http"),
                "resolve http fresh": ([command, "resolve"], "http"),
                "resolve etcd fresh": ([command, "resolve"], "etcd"),
            }
            for name, (argv, where) in table.items():  # warm-up: caches, page cache, .pyc
                cwd, env = homes[where]
                _, done = run_once(argv, cwd, env)
                if done.returncode != 0 or (argv[-1] == "resolve" and done.stdout != "demo\n"):
                    problems.append(f"{name}: exit {done.returncode}: {done.stderr.strip()[:200]}")

            samples: dict[str, list[float]] = {name: [] for name in table}
            hits, calls = FakeCloud.hits, handled(etcd_url)
            order, shuffle = list(table), random.Random(14)
            for _ in range(args.rounds):
                shuffle.shuffle(order)
                for name in order:
                    cwd, env = homes[table[name][1]]
                    samples[name].append(run_once(table[name][0], cwd, env)[0])
            fresh_requests = {"http": FakeCloud.hits - hits, "etcd": handled(etcd_url) - calls}
            for where, count in fresh_requests.items():
                if count:
                    problems.append(f"{count} {where} requests with the cloud answer cached")

            cold: dict[str, list[float]] = {"resolve http cold": [], "resolve etcd cold": []}
            before, hits = handled(etcd_url), FakeCloud.hits
            for _ in range(args.rounds):
                for name in cold:
                    cwd, env = homes[name.split()[1]]
                    elapsed, done = run_once([command, "resolve", "--refresh"], cwd, env)
                    if done.returncode != 0:
                        problems.append(f"{name}: exit {done.returncode}: {done.stderr.strip()[:200]}")
                    cold[name].append(elapsed)
            cold_requests = (handled(etcd_url) - before) / args.rounds
            http_cold_requests = (FakeCloud.hits - hits) / args.rounds
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    server.shutdown()

    base_ms = statistics.median(samples["python -c pass"]) * 1000
    results = {}
    for name, values in [*samples.items(), *cold.items()]:
        median_ms = statistics.median(values) * 1000
        results[name] = {"median_ms": round(median_ms, 1), "ratio": round(median_ms / base_ms, 2)}
    results["resolve etcd cold"]["requests"] = round(cold_requests, 2)
    results["resolve http cold"]["requests"] = round(http_cold_requests, 2)
    results["resolve etcd cold"]["over_fresh_ms"] = round(
        results["resolve etcd cold"]["median_ms"] - results["resolve etcd fresh"]["median_ms"], 1
    )
    for name in ("resolve http fresh", "resolve etcd fresh"):
        results[name]["requests"] = fresh_requests[name.split()[1]]
    http_ratio = results["resolve http fresh"]["ratio"]
    etcd_ratio = results["resolve etcd fresh"]["ratio"]
    if etcd_ratio > http_ratio * SAME_RATIO:
        problems.append(
            f"etcd fresh-cache ratio {etcd_ratio:.2f}x is not the http backend's {http_ratio:.2f}x"
        )

    if args.json:
        print(json.dumps({"rounds": args.rounds, "cases": results, "problems": problems}, indent=2))
    else:
        print(f"ctxscope resolve on etcd vs http, {args.rounds} rounds, medians")
        print(f"  {'case':<20} {'median':>9} {'ratio':>7} {'requests':>9}")
        for name, r in results.items():
            requests = "" if "requests" not in r else f"{r['requests']:g}"
            print(f"  {name:<20} {r['median_ms']:>6.1f} ms {r['ratio']:>6.2f}x {requests:>9}")
        print(
            f"  a cold etcd resolve costs {results['resolve etcd cold']['over_fresh_ms']:.1f} ms "
            f"more than a cached one, in {cold_requests:g} requests "
            f"({results['resolve etcd cold']['median_ms'] - results['resolve http cold']['median_ms']:.1f}"
            " ms more than a cold v1 resolve)"
        )
        for problem in problems:
            print(f"  problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
