"""Races and crashes: many processes logging and syncing at once,
SIGKILL at random moments many times over, and a cloud that changes between our
read and our write.

tests/test_cli_sync.py already has 16 writers of one file and a killed syncing
loop; these go further: loggers and writers together on one log that rotates
under contention, concurrent cloud writers racing on If-Match, and a mixed
crew (sync, status, trust, cloud cache) killed well over a hundred times.
After everything: the project file parses and is whole, every log line is
whole JSON that validates against the schema, the trust store and the cache
are valid JSON, and the next command neither hangs nor fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import pytest
from _command import validate_event
from _hardening import CANARY, CTXSCOPE, env_with, read_jsonl, run

pytestmark = pytest.mark.hardening

PROJECT_TEXT = """# Memory scope for this repository
scope = "start"   # the project we work on

[policy]
mode = "cloud"   # rollout step 3
"""

# A worker: runs one kind of command in a loop, in-process (no start-up cost, so
# the kills land inside the work), with a new value each time so nothing is
# de-duplicated. It says "ready" once its first command is done, and stops when the
# process that started it is gone (a test killed by a timeout must not leave it looping).
WORK = textwrap.dedent("""
    import os, sys

    def work(role, ready, iterations, parent):
        sys.stdout = open(os.devnull, "w")
        sys.stderr = open(os.devnull, "w")
        from ctxscope.cli import run
        i = 0
        while True:
            i += 1
            tag = f"{role}-{os.getpid()}-{i}"
            if role == "sync":
                run(["sync", "--direction", "runtime-to-local", "--scope", tag, "--yes"])
            elif role == "log":
                run(["status", "--scope", tag])
            elif role == "trust":
                run(["trust"])
            elif role == "cache":
                run(["resolve", "--refresh", "--scope", tag])
            if i == 1:
                os.write(ready, b"ready\\n")
            if iterations is not None and i >= iterations:
                break
            if os.getppid() != parent:
                break
""")

WORKER = WORK + textwrap.dedent("""
    work(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None,
         os.getppid())
""")

# Forks workers on request (a role per line on stdin; it answers with the pid), each in
# its own process group. It imports ctxscope once, so a replacement worker is writing within a
# millisecond of the kill before it instead of spending a third of a second importing
# (where most of the kills would then land). Only the cache role keeps the cloud's URL.
ZYGOTE = WORK + textwrap.dedent("""
    import signal
    ready, cloud_url = int(sys.argv[1]), sys.argv[2]
    import ctxscope.cli  # noqa: F401  (once, before any fork)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the workers are reaped as they die
    for line in sys.stdin:
        role = line.strip()
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            if role == "cache":
                os.environ["CTXSCOPE_CLOUD_URL"] = cloud_url
            else:
                os.environ.pop("CTXSCOPE_CLOUD_URL", None)
            try:
                work(role, ready, None, os.getppid())
            finally:
                os._exit(0)
        os.setpgid(pid, pid)  # here too: its group exists before the test may kill it
        print(pid, flush=True)
""")


def _spawn(role: str, cwd, env, iterations: int | None = None) -> subprocess.Popen:
    ready_r, ready_w = os.pipe()
    args = [sys.executable, "-c", WORKER, role, str(ready_w)]
    if iterations is not None:
        args.append(str(iterations))
    proc = subprocess.Popen(
        args,
        cwd=str(cwd),
        env=env,
        pass_fds=(ready_w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    os.close(ready_w)
    proc.ready = os.fdopen(ready_r, "rb")  # type: ignore[attr-defined]
    return proc


def _wait_ready(proc, timeout=60) -> None:
    import select

    readable, _, _ = select.select([proc.ready], [], [], timeout)
    assert readable and proc.ready.readline() == b"ready\n", "worker never got going"
    proc.ready.close()


class Zygote:
    """Workers forked from one process that has imported ctxscope (ZYGOTE above)."""

    def __init__(self, cwd, env, cloud_url: str) -> None:
        ready_r, ready_w = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, str(ready_w), cloud_url],
            cwd=str(cwd),
            env=env,
            pass_fds=(ready_w,),
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        os.close(ready_w)
        self.ready, self.said = ready_r, b""

    def spawn(self, role: str) -> int:
        self.proc.stdin.write(role + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def wait_ready(self, count: int, timeout=60) -> None:
        """Until `count` more workers have said "ready" (the lines of several can come in
        one read: the pipe is shared)."""
        import select

        deadline = time.monotonic() + timeout
        while self.said.count(b"ready\n") < count:
            readable, _, _ = select.select([self.ready], [], [], deadline - time.monotonic())
            assert readable, "worker never got going"
            self.said += os.read(self.ready, 4096)
        self.said = self.said.replace(b"ready\n", b"", count)

    @staticmethod
    def kill(pid: int) -> None:
        """SIGKILL the worker's session; return once it is gone."""
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            assert time.monotonic() < deadline, f"worker {pid} still there after SIGKILL"
            time.sleep(0.001)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        os.close(self.ready)


def _all_log_lines(log: Path) -> list[dict]:
    events = []
    for path in sorted(log.parent.glob(log.name + "*")):
        if path.name.endswith(".lock"):
            continue
        for event in read_jsonl(path):  # raises on a torn or merged line
            validate_event(event)
            events.append(event)
    return events


def _assert_project_whole(path: Path) -> str:
    text = path.read_text()
    scope = tomllib.loads(text)["scope"]  # always parses
    assert text == PROJECT_TEXT.replace('"start"', f'"{scope}"'), text  # comments kept, one value
    return scope


@pytest.fixture
def repo(project):
    path = project / ".ctxscope.toml"
    path.write_text(PROJECT_TEXT)
    return path


def test_loggers_and_writers_at_once_on_a_rotating_log(repo, project, user_config, log_file, record_property):
    """24 processes: 16 log drift while 8 rewrite the project file; the log rotates
    under them. Nothing is lost, nothing torn, the file ends whole."""
    user_config.write_text("[log]\nmax_bytes = 20000\nkeep = 100\n")
    env = env_with(CTXSCOPE_TOKEN=CANARY)
    loggers, writers, rounds = 16, 8, 4
    procs = [_spawn("log", project, env, rounds) for _ in range(loggers)]
    procs += [_spawn("sync", project, env, rounds) for _ in range(writers)]
    for proc in procs:
        assert proc.wait(timeout=180) == 0, proc.stderr.read()
        proc.stderr.close()
        proc.ready.close()
    record_property("writers", loggers + writers)

    events = _all_log_lines(log_file)
    rotated = [p for p in log_file.parent.glob("drift.jsonl.*") if p.suffix != ".lock"]
    assert len(rotated) >= 2  # it rotated, more than once, under the writers
    drift = [e for e in events if e["event"] == "scope_drift_detected" and e["command"] == "status"]
    synced = [e for e in events if e["event"] == "scope_synced"]
    assert len(drift) >= loggers * rounds  # every status run logged (writers may add more)
    assert len(synced) == writers * rounds  # every sync wrote and logged once
    assert len({(e["pid"], e["runtime_scope"]) for e in drift}) == len(drift)  # no duplicates
    final = _assert_project_whole(repo)
    # The writes were serialised: each one saw the value the one before it wrote.
    befores = sorted(e["before"] for e in synced)
    afters = sorted(e["after"] for e in synced)
    assert sorted([*afters, "start"]) == sorted([*befores, final])
    assert [n for n in os.listdir(project) if n.endswith(".tmp")] == []


def test_concurrent_cloud_writers_race_on_if_match(project, cloud, user_config, log_file, record_property):
    """12 processes PUT the cloud default at once. Each either wins (exit 0, verified) or
    loses cleanly (exit 1: a 412 conflict or a read-back that shows the winner), never
    anything else; no write is lost or applied twice."""
    user_config.write_text('[policy]\nmode = "cloud"\n')
    cloud.scope = "start"
    n = 12
    cloud.access = {f"w{i}": "write" for i in range(n)} | {"start": "write"}
    env = env_with(CTXSCOPE_TOKEN=CANARY)
    procs = [
        subprocess.Popen(
            [CTXSCOPE, "sync", "--direction", "resolved-to-cloud", "--scope", f"w{i}", "--yes"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    record_property("writers", n)
    codes = [code for code, _ in results]
    assert set(codes) <= {0, 1}, results
    assert not [err for _, err in results if "Traceback" in err]
    conflicts = [err for code, err in results if code == 1]
    assert all("changed" in err or "mismatch" in err for err in conflicts), conflicts
    winners = {f"w{i}" for i, code in enumerate(codes) if code == 0}
    put_scopes = [p["scope"] for p in cloud.puts]
    assert len(put_scopes) == len(set(put_scopes))  # none applied twice
    assert winners <= set(put_scopes) and len(put_scopes) >= 1
    assert cloud.scope == put_scopes[-1] and cloud.revision == 1 + len(put_scopes)
    events = _all_log_lines(log_file)
    synced = [e for e in events if e["event"] == "scope_synced"]
    failed = [e for e in events if e["event"] == "scope_sync_failed"]
    assert {e["after"] for e in synced} == winners
    assert len(failed) == len(conflicts)


def test_cloud_changes_between_read_and_write(project, cloud, user_config, events, record_property):
    """Another writer changes the default after we read it and before we PUT: 412,
    reported with both values, never retried, nothing of ours written."""
    user_config.write_text('[policy]\nmode = "cloud"\n')
    (project / ".ctxscope.toml").write_text('scope = "ours"\n')
    cloud.scope = "before"
    cloud.access = {"ours": "write"}
    for command in (
        ["sync", "--direction", "resolved-to-cloud", "--yes"],
        ["repair", "--to", "ours", "--yes"],
    ):
        cloud.race = f"theirs-{command[0]}"
        result = run(command, cwd=project, env=env_with(CTXSCOPE_TOKEN=CANARY))
        record_property("faults", 1)
        assert result.returncode == 1, result.stderr
        assert f"'theirs-{command[0]}'" in result.stderr and "Traceback" not in result.stderr
        assert cloud.scope == f"theirs-{command[0]}" and cloud.puts == []
    puts = [r for r in cloud.requests() if r.method == "PUT"]
    assert len(puts) == 2  # one attempt each: a conflict is never retried
    assert [e["event"] for e in events()].count("scope_sync_failed") >= 1


@pytest.mark.parametrize("victims", ["every-kind-of-writer", "the-installed-command"])
def test_sigkill_during_writes_leaves_every_file_whole(
    victims, repo, project, cloud, user_config, isolated_home, log_file, record_property
):
    """kill -9 at random moments, over and over, while files are being written: every file
    is the old one or the new one, never torn, and nothing left behind blocks what follows.

    every-kind-of-writer: a crew of in-process workers (project file writers, loggers,
    trust-store writers, cloud-cache writers), forked ready to write, killed one at a time
    and replaced, 150 times.
    the-installed-command: the real command, start-up included (`sync` and `status`),
    killed at random points of its short life while a steady writer and a logger go on."""
    user_config.write_text("[log]\nmax_bytes = 50000\nkeep = 200\n")
    cloud.scope = "start"
    plain = env_with(CTXSCOPE_TOKEN=CANARY, CTXSCOPE_CLOUD_URL=None)
    with_cloud = env_with(CTXSCOPE_TOKEN=CANARY)
    store = isolated_home / ".local" / "state" / "ctxscope" / "trusted.json"
    seen = {_assert_project_whole(repo)}
    kills = 0
    if victims == "every-kind-of-writer":
        zygote = Zygote(project, with_cloud, cloud.url)
        crew: dict[tuple[str, int], int] = {}
        try:
            for role in ("sync", "log", "trust", "cache"):
                for slot in range(2):
                    crew[(role, slot)] = zygote.spawn(role)
            zygote.wait_ready(len(crew))
            rng = random.Random(5)
            deadline = time.monotonic() + 15
            while kills < 150 and time.monotonic() < deadline:
                time.sleep(rng.uniform(0.0, 0.06))
                key = rng.choice(list(crew))
                zygote.kill(crew[key])
                kills += 1
                if kills % 10 == 0:  # look at the shared files while the others keep writing
                    seen.add(_assert_project_whole(repo))
                    if store.exists():
                        assert isinstance(json.loads(store.read_text() or "{}"), dict)
                crew[key] = zygote.spawn(key[0])
            for pid in crew.values():
                zygote.kill(pid)
                kills += 1
        finally:
            for pid in crew.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            zygote.close()
        steady = []
        writers = len(crew)
        assert kills >= 60  # enough landed even on a slow machine
    else:
        steady = [_spawn("sync", project, plain), _spawn("log", project, plain)]
        for proc in steady:
            _wait_ready(proc)
        rng = random.Random(11)
        for i in range(20):
            args = (
                ["sync", "--direction", "runtime-to-local", "--scope", f"k{i}", "--yes"]
                if i % 2
                else ["status", "--scope", f"k{i}"]
            )
            proc = subprocess.Popen(
                [CTXSCOPE, *args],
                cwd=project,
                env=plain,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.02, 0.3))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            seen.add(_assert_project_whole(repo))
        writers = 3
    for proc in steady:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        proc.ready.close()
        kills += 1
    record_property("kills", kills)
    record_property("writers", writers)

    scope = _assert_project_whole(repo)
    seen.add(scope)
    assert len(seen) > 1  # the kills did land while writes were happening
    assert scope == "start" or re.fullmatch(r"sync-\d+-\d+|k\d+", scope)
    assert len(_all_log_lines(log_file)) > 0
    if store.exists():
        records = json.loads(store.read_text())
        assert isinstance(records, dict) and all(len(v) == 64 for v in records.values())
    for cache in (isolated_home / ".cache" / "ctxscope").glob("cloud-*.json"):
        assert isinstance(json.loads(cache.read_text()), dict)

    # Nothing left behind blocks or breaks the next commands; the next write sweeps the
    # temporaries a killed writer left.
    after = run(
        ["sync", "--direction", "runtime-to-local", "--scope", "after-kills", "--yes"], cwd=project, env=plain
    )
    assert after.returncode == 0, after.stderr
    assert _assert_project_whole(repo) == "after-kills"
    assert [n for n in os.listdir(project) if n.endswith(".tmp")] == []
    assert run(["status", "--check"], cwd=project, env=plain).returncode in (0, 3)
    assert run(["trust", "--yes"], cwd=project, env=plain).returncode == 0
    assert (
        run(["resolve", "--scope", "x", "--refresh"], cwd=project, env=with_cloud).returncode == 4
    )  # answered, not hung: x is not visible
    _all_log_lines(log_file)
