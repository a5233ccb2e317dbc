"""ctxscope.procs: real child processes with known environments and working directories.

/proc also shows every other process of this user (other test runs included), so
assertions are made about our own children, by pid.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from ctxscope import procs
from ctxscope.errors import CtxScopeError

pytestmark = pytest.mark.skipif(not procs.supported(), reason="reads /proc (Linux only)")


def by_pid(found, *children):
    table = {p.pid: p for p in found.processes}
    return [table.get(c.pid) for c in children]


@pytest.fixture
def incident(project):
    """The repository now says `workout`; an agent started earlier still holds `zentygo`."""
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    return project


def test_stale_current_and_none(incident, spawn):
    stale = spawn(incident, "zentygo")
    current = spawn(incident, "workout")
    none = spawn(incident)
    before = time.time()
    found = procs.scan(pids=[stale.pid, current.pid, none.pid])
    s, c, n = by_pid(found, stale, current, none)

    assert n is None  # holds no runtime scope: not listed
    assert (s.state, s.stale, s.scope, s.expected, s.expected_from) == (
        "stale",
        True,
        "zentygo",
        "workout",
        "local",
    )
    assert (c.state, c.stale, c.scope, c.expected) == ("current", False, "workout", "workout")
    for p in (s, c):
        assert p.cwd == str(incident)
        assert p.variable == "CTX_SCOPE"
        assert p.command == "sleep 300"
        assert p.started is not None and p.started <= time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2)
        )
        assert p.started >= time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(before - 60))
    assert [p.pid for p in found.stale] == [stale.pid]
    assert s.to_dict()["stale"] is True and c.to_dict()["stale"] is False
    assert {"pid", "command", "scope", "expected", "stale"} <= set(s.to_dict())


def test_whole_scan_sees_our_children(incident, spawn):
    stale = spawn(incident, "zentygo")
    found = procs.scan()
    (s,) = by_pid(found, stale)
    assert s is not None and s.stale
    assert os.getpid() not in {p.pid for p in found.processes}  # never the scanner itself


def test_the_commands_own_runtime_scope_is_not_the_reference(incident, spawn, monkeypatch):
    # `ctxscope ps` run from a shell that still exports the old value must not call
    # the old value "expected": the reference comes from the other sources only.
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    stale = spawn(incident, "zentygo")
    (s,) = by_pid(procs.scan(pids=[stale.pid]), stale)
    assert (s.expected, s.state) == ("workout", "stale")


def test_configured_runtime_names(incident, spawn, user_config):
    user_config.write_text('[runtime]\nenv = ["AGENT_SCOPE", "CTX_SCOPE"]\n')
    agent = spawn(incident, "zentygo", var="AGENT_SCOPE")
    # Both set and disagreeing: the first configured name is the one the process uses.
    both = spawn(incident, "workout", var="AGENT_SCOPE", env={"CTX_SCOPE": "zentygo"})
    a, b = by_pid(procs.scan(pids=[agent.pid, both.pid]), agent, both)
    assert (a.variable, a.scope, a.state) == ("AGENT_SCOPE", "zentygo", "stale")
    assert (b.variable, b.scope, b.state) == ("AGENT_SCOPE", "workout", "current")


def test_empty_variable_counts_as_unset(incident, spawn):
    empty = spawn(incident, "")
    assert by_pid(procs.scan(pids=[empty.pid]), empty) == [None]


def test_nothing_else_resolves_is_unknown_not_stale(tmp_path, spawn):
    bare = tmp_path / "bare"
    bare.mkdir()
    p = spawn(bare, "zentygo")
    (u,) = by_pid(procs.scan(pids=[p.pid]), p)
    assert (u.state, u.stale, u.expected) == ("unknown", False, None)
    assert "no other source sets a scope" in u.problem


def test_invalid_held_scope_is_stale_and_escaped(incident, spawn):
    p = spawn(incident, "bad scope\x1b[31m")
    (s,) = by_pid(procs.scan(pids=[p.pid]), p)
    assert s.state == "stale"
    assert "\x1b" not in s.scope and "\\x1b" in s.scope
    assert s.scope_problem and "invalid scope" in s.problem


def test_broken_project_file_is_unknown_with_reason(project, spawn):
    (project / ".ctxscope.toml").write_text('scope = "workout\n')
    p = spawn(project, "zentygo")
    (u,) = by_pid(procs.scan(pids=[p.pid]), p)
    assert u.state == "unknown" and "invalid TOML" in u.problem


def test_cloud_reference_fetched_once_for_many_processes(tmp_path, spawn, cloud):
    cloud.scope = "workout"
    cloud.access = {"workout": "read"}
    dirs = []
    for name in ("a", "b", "c"):
        d = tmp_path / name
        d.mkdir()
        dirs.append(d)
    children = [spawn(d, "zentygo") for d in dirs] + [spawn(dirs[0], "workout")]
    found = procs.scan(pids=[c.pid for c in children])
    rows = by_pid(found, *children)
    assert [r.state for r in rows] == ["stale", "stale", "stale", "current"]
    assert {r.expected_from for r in rows} == {"cloud"}
    assert len([r for r in cloud.requests() if r.path == "/v1/scope"]) == 1
    assert len([r for r in cloud.requests() if r.path.startswith("/v1/scopes/")]) == 1


def test_unreachable_cloud_costs_one_budget(tmp_path, spawn, monkeypatch, dead_url):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    dirs = [tmp_path / n for n in ("a", "b")]
    for d in dirs:
        d.mkdir()
        (d / ".ctxscope.toml").write_text("")  # two project files: two resolutions
    kids = [spawn(d, "zentygo") for d in dirs]
    rows = by_pid(procs.scan(pids=[k.pid for k in kids]), *kids)
    assert [r.state for r in rows] == ["unknown", "unknown"]
    assert all("cloud" in r.problem for r in rows)


def test_token_is_redacted_from_the_command_line(incident, spawn):
    token = "tok-SECRET-123"
    p = spawn(
        incident,
        "zentygo",
        env={"CTXSCOPE_TOKEN": token},
        argv=[sys.executable, "-c", "import time; time.sleep(300)", "--token", token],
    )
    (s,) = by_pid(procs.scan(pids=[p.pid]), p)
    assert token not in s.command and s.command.endswith("--token ***")


def test_stale_event_is_logged_once_and_valid(incident, spawn, events):
    first = spawn(incident, "zentygo")
    second = spawn(incident, "zentygo")
    found = procs.scan(pids=[first.pid, second.pid])
    assert procs.record_stale(found) == []
    assert procs.record_stale(procs.scan(pids=[first.pid, second.pid])) == []  # deduped
    logged = events()
    assert [e["process"]["pid"] for e in logged] == [first.pid, second.pid]
    e = logged[0]
    assert (e["event"], e["reason"], e["action_required"]) == (
        "scope_drift_detected",
        "process_stale",
        "restart_process",
    )
    assert (e["runtime_scope"], e["local_scope"], e["resolved_scope"], e["resolved_from"]) == (
        "zentygo",
        "workout",
        "workout",
        "local",
    )
    assert e["reasons"] == ["process_stale"] and e["actions"] == ["restart_process"]
    assert e["cwd"] == str(incident) and e["command"] == "ps"
    assert e["process"]["command"] == "sleep 300"
    assert e["pid"] == os.getpid()  # the writer; process.pid is the stale one
    assert e["drift_snapshot"]["state"] == "DRIFTED"


def test_invalid_held_scope_event_keeps_it_out_of_scope_fields(incident, spawn, events):
    p = spawn(incident, " zentygo")
    procs.record_stale(procs.scan(pids=[p.pid]))
    (e,) = events()
    assert e["runtime_scope"] is None
    assert e["drift_snapshot"]["invalid"]["runtime"] == " zentygo"


def test_dedupe_window_zero_logs_every_time(incident, spawn, events, user_config):
    user_config.write_text("[log]\ndedupe_seconds = 0\n")
    p = spawn(incident, "zentygo")
    procs.record_stale(procs.scan(pids=[p.pid]))
    procs.record_stale(procs.scan(pids=[p.pid]))
    assert len(events()) == 2


def test_a_log_that_cannot_be_written_is_a_warning(incident, spawn, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("CTXSCOPE_LOG", str(blocker / "drift.jsonl"))
    p = spawn(incident, "zentygo")
    warnings = procs.record_stale(procs.scan(pids=[p.pid]))
    assert len(warnings) == 1 and "could not write the drift log" in warnings[0]


def fake_proc(root, uid, entries):
    """A /proc-shaped tree: for states a real process of ours cannot be put in."""
    root.mkdir()
    (root / "stat").write_text("cpu 1 2 3\nbtime 1700000000\n")
    for pid, spec in entries.items():
        d = root / str(pid)
        d.mkdir()
        (d / "status").write_text(f"Name:\tagent\nPPid:\t1\nUid:\t{spec.get('uid', uid)}\t0\t0\t0\n")
        (d / "cmdline").write_bytes(spec.get("cmdline", b"agent\0--serve\0"))
        (d / "stat").write_text(f"{pid} (a (b) c) S " + " ".join(["0"] * 18) + " 500 0 0\n")
        if spec.get("environ") is None:
            (d / "environ").mkdir()  # reading it fails: an environment we may not read
        else:
            (d / "environ").write_bytes(spec["environ"])
        os.symlink(spec.get("cwd", "/"), d / "cwd")
    return root


def test_unreadable_environment_is_counted_not_dropped(tmp_path, project):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    uid = os.getuid()
    proc = fake_proc(
        tmp_path / "proc",
        uid,
        {
            101: {"environ": None, "cwd": str(project)},
            102: {"environ": b"CTX_SCOPE=zentygo\0HOME=/x\0", "cwd": str(project)},
            103: {"environ": b"CTX_SCOPE=zentygo\0", "uid": uid + 1},  # another user's
            104: {"environ": b""},  # a zombie or kernel thread: no environment
        },
    )
    found = procs.scan(proc=str(proc))
    assert sorted(p.pid for p in found.processes) == [101, 102]
    (unreadable,) = found.unreadable
    assert unreadable.pid == 101 and unreadable.state == "unreadable"
    assert unreadable.command == "agent --serve" and "not readable" in unreadable.problem
    (stale,) = found.stale
    assert stale.pid == 102 and stale.cwd == str(project)
    # The process name in /proc/<pid>/stat may hold spaces and parentheses.
    assert stale.started == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(1700000000 + 500 / os.sysconf("SC_CLK_TCK"))
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may read any environment")
def test_unreadable_real_process(incident, spawn):
    # A process that made itself non-dumpable: its /proc files belong to root.
    code = "import ctypes, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); time.sleep(300)"
    p = spawn(incident, "zentygo", argv=[sys.executable, "-c", code])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        (u,) = by_pid(procs.scan(pids=[p.pid]), p)
        if u is not None and u.state == "unreadable":
            break
        time.sleep(0.05)
    assert u is not None and u.state == "unreadable"


def test_ancestors_include_our_parent():
    chain = procs.ancestors()
    assert chain[0] == os.getppid()
    assert os.getpid() not in chain


def test_status_summary_leaves_out_the_processes_status_came_from(incident, spawn):
    stale = spawn(incident, "zentygo")
    summary = procs.status_summary()
    assert stale.pid in {p["pid"] for p in summary["stale"]}
    assert set(summary) == {"root", "checked", "stale", "unreadable", "shells"}
    assert stale.pid not in {p.pid for p in procs.scan(exclude=[stale.pid]).processes}


def test_not_supported_elsewhere(monkeypatch):
    monkeypatch.setattr(procs.sys, "platform", "darwin")
    with pytest.raises(CtxScopeError, match="not supported on this platform"):
        procs.scan()
    assert procs.status_summary() is None
