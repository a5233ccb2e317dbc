"""Local faults: the drift log unwritable or its disk full, the cloud
cache corrupt, a lock left behind by a killed or stopped process.

The rule under test: the log is a side effect, so a failure to write it is one
warning line on stderr and the command still does its job with its normal exit
code; a corrupt cache is ignored and rebuilt; no lock can make a command hang.
Tests run as root here, and root ignores permission bits, so "read-only" is a
directory even root cannot write (sysfs) and "full" is /dev/full.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _hardening import CANARY, assert_clean_failure, env_with, read_jsonl, run, warning_lines

from ctxscope import fsutil
from ctxscope.errors import CtxScopeError

pytestmark = pytest.mark.hardening


@pytest.fixture
def drifted(project):
    """A project whose runtime and local scopes disagree, so every resolution logs an event."""
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    return env_with(CTX_SCOPE="zentygo", CTXSCOPE_TOKEN=CANARY)


def _log_warnings(result) -> list[str]:
    return [w for w in warning_lines(result.stderr) if "drift log" in w]


def _log_warning(result) -> str:
    [line] = _log_warnings(result)
    return line


def _unwritable_dir() -> str:
    """A directory where even root cannot create a file (sysfs), or skip."""
    if os.geteuid() != 0:
        pytest.skip("covered by the chmod variant when not root")
    probe = "/sys/ctxscope-probe.lock"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY, 0o600)
    except OSError:
        return "/sys"
    os.close(fd)
    os.unlink(probe)
    pytest.skip("no directory here refuses root's writes (sysfs is writable)")


def _log_places(tmp_path):
    afile = tmp_path / "not-a-dir"
    afile.write_text("x")
    a_dir = tmp_path / "log-is-a-dir"
    a_dir.mkdir()
    full_dir = tmp_path / "full"
    full_dir.mkdir()
    (full_dir / "drift.jsonl").symlink_to("/dev/full")
    return {
        "parent is a file": (str(afile / "sub" / "drift.jsonl"), "is not a directory"),
        "log path is a directory": (str(a_dir), "directory"),
        "disk full (/dev/full)": (str(full_dir / "drift.jsonl"), "No space left on device"),
    }


@pytest.mark.parametrize("case", ["parent is a file", "log path is a directory", "disk full (/dev/full)"])
@pytest.mark.parametrize(
    "args, code, stdout",
    [
        (["resolve"], 0, "zentygo\n"),
        (["status", "--check"], 3, None),
        (["diff", "--json"], 3, None),
    ],
)
def test_log_unwritable_is_a_warning_and_the_command_works(
    drifted, project, tmp_path, case, args, code, stdout, record_property
):
    path, reason = _log_places(tmp_path)[case]
    result = run(args, cwd=project, env={**drifted, "CTXSCOPE_LOG": path})
    record_property("faults", 1)
    assert "Traceback" not in result.stderr
    assert result.returncode == code, result.stderr
    if stdout is not None:
        assert result.stdout == stdout
    if args[-1] == "--json":
        assert json.loads(result.stdout)["state"] == "DRIFTED"
    line = _log_warning(result)
    assert path in line and reason in line


def test_log_in_a_read_only_directory_is_a_warning(drifted, project, record_property):
    path = os.path.join(_unwritable_dir(), "drift.jsonl")
    result = run(["resolve"], cwd=project, env={**drifted, "CTXSCOPE_LOG": path})
    record_property("faults", 1)
    assert (result.returncode, result.stdout) == (0, "zentygo\n")
    assert path in _log_warning(result)


def test_log_in_a_chmod_read_only_directory_is_a_warning(drifted, project, tmp_path, record_property):
    if os.geteuid() == 0:
        pytest.skip("root ignores permission bits; the sysfs variant covers this as root")
    logs = tmp_path / "ro"
    logs.mkdir()
    logs.chmod(0o500)
    try:
        result = run(["resolve"], cwd=project, env={**drifted, "CTXSCOPE_LOG": str(logs / "d.jsonl")})
    finally:
        logs.chmod(0o700)
    record_property("faults", 1)
    assert (result.returncode, result.stdout) == (0, "zentygo\n")
    assert "drift log" in _log_warning(result)


def test_log_full_with_a_failing_command_keeps_its_own_error(project, tmp_path, record_property):
    (tmp_path / "drift.jsonl").symlink_to("/dev/full")
    env = env_with(CTX_SCOPE="bad value", CTXSCOPE_LOG=str(tmp_path / "drift.jsonl"))
    result = run(["resolve"], cwd=project, env=env)
    record_property("faults", 1)
    assert_clean_failure(result, 1, "env CTX_SCOPE")
    assert "No space left on device" in _log_warning(result)


def test_log_ending_in_a_torn_line_gets_whole_lines_after_it(drifted, project, log_file, record_property):
    log_file.parent.mkdir(parents=True, exist_ok=True)
    good = {"ts": "2020-01-01T00:00:00Z", "event": "scope_drift_detected"}
    log_file.write_text(json.dumps(good) + "\n" + '{"ts": "2026-11-24T1')  # a crash mid-line
    result = run(["resolve"], cwd=project, env=drifted)
    record_property("faults", 1)
    assert result.returncode == 0 and not _log_warnings(result)
    lines = log_file.read_text().splitlines()
    assert lines[1] == '{"ts": "2026-11-24T1'  # kept as it was: the log is never rewritten
    event = json.loads(lines[2])  # the new event starts on its own line
    assert event["event"] == "scope_drift_detected" and event["runtime_scope"] == "zentygo"


# --- the cloud cache -------------------------------------------------------------------


def _cache_path(cloud_url: str, token: str) -> Path:
    from ctxscope.cache import CloudCache

    return Path(CloudCache(cloud_url, token).path)


def _fresh(entries: dict) -> dict:
    now = time.time()
    return {name: {"value": value, "at": now} for name, value in entries.items()}


CORRUPT_CACHES = {
    "garbage bytes": lambda url: b"\x00\xffnot json at all{{{",
    "empty file": lambda url: b"",
    "truncated JSON": lambda url: b'{"url": "' + url.encode() + b'", "entries": {"scope": {"va',
    "a JSON list": lambda url: b"[1, 2, 3]",
    "another URL's cache": lambda url: json.dumps(
        {"url": "https://other.example", "entries": _fresh({"scope": {"scope": "evil", "revision": "1"}})}
    ).encode(),
    "entries not a table": lambda url: json.dumps({"url": url, "entries": "x"}).encode(),
    "scope answer of the wrong shape": lambda url: json.dumps(
        {"url": url, "entries": _fresh({"scope": "zentygo"})}
    ).encode(),
    "scope that is not a string": lambda url: json.dumps(
        {"url": url, "entries": _fresh({"scope": {"scope": ["a"], "revision": "1"}})}
    ).encode(),
    "timestamp from the future": lambda url: json.dumps(
        {
            "url": url,
            "entries": {
                "scope": {"value": {"scope": "stale", "revision": "0"}, "at": time.time() + 10 * 365 * 86400}
            },
        }
    ).encode(),
    "nested too deeply": lambda url: b"[" * 50000 + b"]" * 50000,
    "timestamp not a number": lambda url: json.dumps(
        {"url": url, "entries": {"scope": {"value": {"scope": "stale", "revision": "0"}, "at": "yesterday"}}}
    ).encode(),
}


@pytest.mark.parametrize("case", sorted(CORRUPT_CACHES))
def test_corrupt_cache_is_ignored_and_rebuilt(project, cloud, case, record_property):
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "write"}
    path = _cache_path(cloud.url, CANARY)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(CORRUPT_CACHES[case](cloud.url))
    result = run(["resolve"], cwd=project, env=env_with(CTXSCOPE_TOKEN=CANARY))
    record_property("faults", 1)
    assert "Traceback" not in result.stderr
    assert (result.returncode, result.stdout) == (0, "zentygo\n"), result.stderr
    assert [r.path for r in cloud.requests("/v1/scope") if r.path == "/v1/scope"] == ["/v1/scope"]
    rebuilt = json.loads(path.read_text())
    assert rebuilt["url"] == cloud.url
    assert rebuilt["entries"]["scope"]["value"] == {"scope": "zentygo", "revision": "1"}
    assert rebuilt["entries"]["access:zentygo"]["value"] == "write"
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_corrupt_cache_cannot_grant_access(project, cloud, record_property):
    """A cached access answer that is not read/write/null must not authorize anything."""
    cloud.scope = "zentygo"
    cloud.access = {}  # the token cannot see it
    path = _cache_path(cloud.url, CANARY)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "url": cloud.url,
                "entries": _fresh(
                    {"scope": {"scope": "zentygo", "revision": "1"}, "access:zentygo": "admin"}
                ),
            }
        )
    )
    result = run(["resolve"], cwd=project, env=env_with(CTXSCOPE_TOKEN=CANARY))
    record_property("faults", 1)
    assert_clean_failure(result, 4, "zentygo")
    assert [r.path for r in cloud.requests("/v1/scopes/")] == ["/v1/scopes/zentygo"]


def test_cache_path_taken_by_a_directory_costs_only_speed(project, cloud, record_property):
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "read"}
    path = _cache_path(cloud.url, CANARY)
    path.mkdir(parents=True)
    env = env_with(CTXSCOPE_TOKEN=CANARY)
    for _ in range(2):
        result = run(["resolve"], cwd=project, env=env)
        assert (result.returncode, result.stdout, result.stderr) == (0, "zentygo\n", "")
    record_property("faults", 1)
    assert len([r for r in cloud.requests() if r.path == "/v1/scope"]) == 2  # nothing cached
    assert path.is_dir()


def test_corrupt_trust_store_trusts_nothing_and_trust_rewrites_it(
    project, isolated_home, tmp_path, record_property
):
    evil = tmp_path / "evil.jsonl"
    (project / ".ctxscope.toml").write_text(f'scope = "a"\n[log]\npath = "{evil}"\n')
    store = isolated_home / ".local" / "state" / "ctxscope" / "trusted.json"
    store.parent.mkdir(parents=True)
    store.write_text('{"' + str(project / ".ctxscope.toml") + '": ')  # torn
    env = env_with(CTX_SCOPE="b")
    result = run(["resolve"], cwd=project, env=env)
    record_property("faults", 1)
    assert (result.returncode, result.stdout) == (0, "b\n")
    assert "not trusted" in result.stderr and not evil.exists()
    assert run(["trust"], cwd=project, env=env).returncode == 0
    assert json.loads(store.read_text()) == {
        str(project / ".ctxscope.toml"): __import__("hashlib")
        .sha256((project / ".ctxscope.toml").read_bytes())
        .hexdigest()
    }
    assert run(["resolve"], cwd=project, env=env).returncode == 0
    assert evil.exists()  # trusted now, so [log] path counts


# --- locks -----------------------------------------------------------------------------

_HOLDER = r"""
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)
"""


def _hold_lock(path) -> subprocess.Popen:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert proc.stdout.readline() == "locked\n"
    return proc


@pytest.mark.parametrize("lock", ["file_lock", "drift_log", "trust_store"])
def test_the_lock_of_a_sigkilled_holder_never_blocks(lock, project, isolated_home, log_file, record_property):
    """kill -9 of a process holding a lock: the lock primitive itself, the drift log's
    (`resolve` logs drift) and the trust store's (`trust`). Nothing blocks the next one."""
    store = isolated_home / ".local" / "state" / "ctxscope" / "trusted.json"
    path = {
        "file_lock": project / "state.lock",
        "drift_log": Path(f"{log_file}.lock"),
        "trust_store": Path(f"{store}.lock"),
    }[lock]
    holder = _hold_lock(str(path))
    with pytest.raises(CtxScopeError, match="timed out"), fsutil.file_lock(str(path), timeout=0.1):
        pytest.fail("acquired a lock that another process holds")
    holder.send_signal(signal.SIGKILL)
    assert holder.wait(timeout=10) == -signal.SIGKILL
    holder.stdout.close()
    record_property("kills", 1)
    if lock == "file_lock":
        started = time.monotonic()
        with fsutil.file_lock(str(path), timeout=5):
            acquired_after = time.monotonic() - started
        assert acquired_after < 1.0
        return
    record_property("faults", 1)
    if lock == "drift_log":
        (project / ".ctxscope.toml").write_text('scope = "workout"\n')
        result = run(["resolve"], cwd=project, env=env_with(CTX_SCOPE="zentygo", CTXSCOPE_TOKEN=CANARY))
        assert (result.returncode, result.stdout) == (0, "zentygo\n")
        assert not _log_warnings(result)
        [event] = read_jsonl(log_file)
        assert event["runtime_scope"] == "zentygo"
    else:
        (project / ".ctxscope.toml").write_text('scope = "a"\n')
        result = run(["trust"], cwd=project)
        assert result.returncode == 0, result.stderr
        assert str(project / ".ctxscope.toml") in json.loads(store.read_text())


def test_lock_held_by_a_stopped_process_is_a_warning_not_a_hang(drifted, project, log_file, record_property):
    holder = _hold_lock(str(log_file) + ".lock")
    holder.send_signal(signal.SIGSTOP)  # alive, holding the lock, never letting go
    try:
        result = run(["resolve"], cwd=project, env=drifted, timeout=20)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    record_property("faults", 1)
    assert (result.returncode, result.stdout) == (0, "zentygo\n")
    assert "lock" in _log_warning(result)
    # ...and once the holder is gone the next command logs normally.
    result = run(["status", "--check"], cwd=project, env=drifted)
    assert result.returncode == 3 and not _log_warnings(result)
    assert len(read_jsonl(log_file)) == 1
