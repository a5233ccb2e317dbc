#!/usr/bin/env python3
"""What `ctxscope.require_scope()` costs per call, in-process, with the cloud answer cached.

Standard library only (plus ctxscope itself). Sets up a throw-away HOME, a
project with a `.ctxscope.toml`, and a cloud on loopback (http.server in a
thread) that the first call fills the cache from; then times many calls and
checks that the timed calls made no HTTP request at all.

    python benchmarks/bench_gate.py            # default: 2000 calls per case
    python benchmarks/bench_gate.py -n 500 --json

Cases:
  synced     local, cloud and authorization agree; nothing is logged
  drifted    runtime beats a stale local file; each call resolves, then the
             drift event is de-duplicated against the log's last line
  no-cloud   no [cloud] url: no cache file to read, authorization not checked
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer

from _cloud import FakeCloud as _Cloud

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FakeCloud(_Cloud):
    visible = ("zentygo", "workout")


def isolate(base: str) -> None:
    """Point HOME and the XDG dirs at `base` and drop ctxscope's own variables."""
    for name in list(os.environ):
        if name.startswith(("CTXSCOPE_", "CTX_SCOPE")):
            del os.environ[name]
    os.environ["HOME"] = base
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
    ):
        os.environ[var] = os.path.join(base, sub)
    os.environ["NO_PROXY"] = "*"


def time_calls(n: int, **kwargs) -> tuple[list[float], int]:
    """Per-call seconds, and how many HTTP requests the timed calls made."""
    import ctxscope

    ctxscope.require_scope(**kwargs)  # warm-up: fills the cloud cache, imports modules
    before = FakeCloud.hits
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        ctxscope.require_scope(**kwargs)
        samples.append(time.perf_counter() - start)
    return samples, FakeCloud.hits - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="timed calls per case")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    sys.path.insert(0, ROOT)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCloud)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    results = {}
    with tempfile.TemporaryDirectory() as base:
        isolate(base)
        repo = os.path.join(base, "repo")
        os.makedirs(repo)
        with open(os.path.join(repo, ".ctxscope.toml"), "w") as fh:
            fh.write('scope = "zentygo"\n')
        cases = {
            "synced": dict(cwd=repo, env={"CTXSCOPE_CLOUD_URL": url, "CTXSCOPE_TOKEN": "t"}),
            "drifted": dict(
                cwd=repo, env={"CTXSCOPE_CLOUD_URL": url, "CTXSCOPE_TOKEN": "t", "CTX_SCOPE": "workout"}
            ),
            "no-cloud": dict(cwd=repo, env={}),
        }
        for name, kwargs in cases.items():
            samples, requests = time_calls(args.n, **kwargs)
            results[name] = {
                "calls": args.n,
                "median_us": round(statistics.median(samples) * 1e6, 1),
                "mean_us": round(statistics.fmean(samples) * 1e6, 1),
                "p95_us": round(sorted(samples)[int(len(samples) * 0.95)] * 1e6, 1),
                "http_requests": requests,  # with the answer cached: must be 0
            }
    server.shutdown()

    if args.json:
        print(json.dumps({"python": sys.version.split()[0], "cases": results}, indent=2))
    else:
        print(f"require_scope() per call, python {sys.version.split()[0]}, cloud answer cached")
        for name, r in results.items():
            print(
                f"  {name:<9} median {r['median_us']:>8.1f} us   mean {r['mean_us']:>8.1f} us"
                f"   p95 {r['p95_us']:>8.1f} us   HTTP requests: "
                f"{r['http_requests']}"
            )
    return 1 if any(r["http_requests"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
