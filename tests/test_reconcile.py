"""ctxscope.reconcile against real files and the real loopback cloud: plan, authorize, apply."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctxscope import reconcile
from ctxscope.errors import (
    ConfigError,
    ConflictError,
    CtxScopeError,
    ExitCode,
    UnauthorizedError,
    UsageError,
    VerificationError,
)
from ctxscope.reconcile import Direction, Shell
from ctxscope.resolver import Context, resolve

PROJECT_TEXT = """# Memory scope for this repository
scope = "workout"   # the project we work on

# who may write what
[policy]
mode = "local"   # rollout step 2
"""


def context(**kw):
    kw.setdefault("refresh", True)
    return Context(**kw)


def planned(command="sync", **kw):
    scope = kw.pop("scope", None)
    ctx = context(scope=scope, command=command)
    res = resolve(context=ctx)
    return ctx, reconcile.plan(ctx, res, command=command, **kw)


def run_sync(direction, **kw):
    ctx, plan = planned("sync", direction=direction, **kw)
    reconcile.authorize(plan, ctx)
    applied = reconcile.apply(plan, ctx)
    ctx.close()
    return plan, applied


def events_named(events, name):
    return [e for e in events() if e["event"] == name]


# runtime-to-local


def test_plan_is_plain_data_and_writes_nothing(project, monkeypatch, events):
    path = project / ".ctxscope.toml"
    path.write_text(PROJECT_TEXT)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")

    _ctx, plan = planned(direction=Direction.RUNTIME_TO_LOCAL)

    assert plan.scope == "zentygo"
    [change] = plan.changes
    assert (change.source, change.target, change.before, change.after, change.action) == (
        "local",
        str(path),
        "workout",
        "zentygo",
        "write",
    )
    assert change.blocked is None
    assert plan.to_dict()["changes"][0]["target"] == str(path)
    assert path.read_text() == PROJECT_TEXT
    assert events_named(events, "scope_synced") == []


def test_apply_keeps_comments_layout_mode_and_logs(project, monkeypatch, events):
    path = project / ".ctxscope.toml"
    path.write_text(PROJECT_TEXT)
    path.chmod(0o640)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")

    _plan, applied = run_sync(Direction.RUNTIME_TO_LOCAL)

    assert applied.error is None
    [outcome] = applied.outcomes
    assert (outcome.status, outcome.verified, outcome.before) == ("written", True, "workout")
    assert path.read_text() == PROJECT_TEXT.replace('"workout"', '"zentygo"')
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    [event] = events_named(events, "scope_synced")
    assert (event["direction"], event["target"], event["before"], event["after"], event["verified"]) == (
        "runtime-to-local",
        str(path),
        "workout",
        "zentygo",
        True,
    )
    assert event["command"] == "sync"
    assert event["local_scope"] == "workout"  # the state the sync found


def test_in_sync_writes_nothing_and_logs_nothing(project, monkeypatch, events):
    path = project / ".ctxscope.toml"
    path.write_text(PROJECT_TEXT)
    monkeypatch.setenv("CTX_SCOPE", "workout")
    before = path.stat().st_mtime_ns

    _ctx, plan = planned(direction=Direction.RUNTIME_TO_LOCAL)

    assert plan.changes == ()
    assert path.stat().st_mtime_ns == before
    assert events() == []


def test_second_sync_is_a_no_op(project, monkeypatch, events):
    (project / ".ctxscope.toml").write_text(PROJECT_TEXT)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    run_sync(Direction.RUNTIME_TO_LOCAL)
    logged = len(events())

    _ctx, plan = planned(direction=Direction.RUNTIME_TO_LOCAL)

    assert plan.changes == ()
    assert len(events()) == logged


def test_runtime_unset_is_refused(project):
    (project / ".ctxscope.toml").write_text(PROJECT_TEXT)
    with pytest.raises(CtxScopeError, match="runtime scope is unset") as info:
        planned(direction=Direction.RUNTIME_TO_LOCAL)
    assert info.value.exit_code == ExitCode.ERROR


def test_runtime_invalid_is_refused(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "bad value")
    with pytest.raises(CtxScopeError) as info:
        planned(direction=Direction.RUNTIME_TO_LOCAL)
    assert info.value.exit_code == ExitCode.ERROR
    assert not (project / ".ctxscope.toml").exists()


def test_flag_scope_is_the_runtime(project):
    (project / ".ctxscope.toml").write_text(PROJECT_TEXT)
    run_sync(Direction.RUNTIME_TO_LOCAL, scope="from-flag")
    assert tomllib.loads((project / ".ctxscope.toml").read_text())["scope"] == "from-flag"


def test_new_file_goes_to_the_repository_root(project, monkeypatch):
    (project / ".git").mkdir()
    sub = project / "src" / "pkg"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")

    plan, _applied = run_sync(Direction.RUNTIME_TO_LOCAL)

    assert plan.changes[0].action == "create"
    created = project / ".ctxscope.toml"
    assert created.read_text() == 'scope = "zentygo"\n'
    assert stat.S_IMODE(created.stat().st_mode) == 0o644
    assert not (sub / ".ctxscope.toml").exists()


def test_new_file_without_a_repository_goes_to_the_working_directory(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    run_sync(Direction.RUNTIME_TO_LOCAL)
    assert (project / ".ctxscope.toml").read_text() == 'scope = "zentygo"\n'


def test_scope_in_the_user_config_is_written_there(project, monkeypatch, user_config):
    user_config.write_text('# mine\nscope = "workout"\n\n[cloud]\ntimeout = 3\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")

    run_sync(Direction.RUNTIME_TO_LOCAL)

    assert user_config.read_text() == '# mine\nscope = "zentygo"\n\n[cloud]\ntimeout = 3\n'
    assert not (project / ".ctxscope.toml").exists()


def test_project_file_without_scope_gets_it(project, monkeypatch, user_config):
    (project / ".ctxscope.toml").write_text('# settings only\n[policy]\nmode = "local"\n')
    user_config.write_text("# no scope here\n")
    monkeypatch.setenv("CTX_SCOPE", "zentygo")

    run_sync(Direction.RUNTIME_TO_LOCAL)

    text = (project / ".ctxscope.toml").read_text()
    assert text == 'scope = "zentygo"\n\n# settings only\n[policy]\nmode = "local"\n'
    assert user_config.read_text() == "# no scope here\n"


def _vouch_for(directory) -> None:
    """A project file may link out of its repository only into a directory the user
    listed in the user config's [safe] link_targets."""
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "ctxscope" / "config.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(f'[safe]\nlink_targets = ["{directory}"]\n')


def test_symlinked_file_is_written_through(project, monkeypatch, tmp_path):
    real = tmp_path / "dotfiles" / "ctxscope.toml"
    real.parent.mkdir()
    real.write_text(PROJECT_TEXT)
    link = project / ".ctxscope.toml"
    link.symlink_to(real)
    _vouch_for(real.parent)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")

    run_sync(Direction.RUNTIME_TO_LOCAL)

    assert link.is_symlink()
    assert tomllib.loads(real.read_text())["scope"] == "zentygo"
    # The lock is in the state directory, named by the real path, not beside either file.
    from ctxscope.sources.local import lock_path

    assert os.path.exists(lock_path(str(real)))
    assert not (real.parent / "ctxscope.toml.lock").exists()
    assert not (project / ".ctxscope.toml.lock").exists()


def test_unparseable_file_is_refused_by_sync(project, monkeypatch):
    path = project / ".ctxscope.toml"
    path.write_text('scope = "workout\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    with pytest.raises(ConfigError, match="cannot be parsed") as info:
        planned(direction=Direction.RUNTIME_TO_LOCAL)
    assert "repair" in info.value.hint
    assert path.read_text() == 'scope = "workout\n'


def test_trusted_file_stays_trusted_after_our_edit(project, monkeypatch, cloud):
    from ctxscope.trust import trust_file

    path = project / ".ctxscope.toml"
    path.write_text(f'scope = "workout"\n\n[cloud]\nurl = "{cloud.url}"\n')
    monkeypatch.delenv("CTXSCOPE_CLOUD_URL")
    trust_file(str(path))
    cloud.access = {"zentygo": "read"}
    monkeypatch.setenv("CTX_SCOPE", "zentygo")

    run_sync(Direction.RUNTIME_TO_LOCAL)

    res = resolve()
    assert res.config.project.trusted
    assert res.config["cloud.url"] == cloud.url


def test_untrusted_file_is_not_trusted_by_a_write(project, monkeypatch):
    path = project / ".ctxscope.toml"
    path.write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    run_sync(Direction.RUNTIME_TO_LOCAL)
    assert not resolve().config.project.trusted


def test_read_after_write_mismatch_is_an_error_and_logged(project, monkeypatch, events):
    """A pure unit: the writer is replaced by one that writes something else."""
    import ctxscope.fsutil as fsutil

    path = project / ".ctxscope.toml"
    path.write_text(PROJECT_TEXT)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    real_write = fsutil.atomic_write_text
    monkeypatch.setattr(
        fsutil,
        "atomic_write_text",
        lambda p, text, **kw: real_write(p, text.replace("zentygo", "other"), **kw),
    )

    _plan, applied = run_sync(Direction.RUNTIME_TO_LOCAL)

    assert isinstance(applied.error, VerificationError)
    assert "read back 'other'" in applied.error.message
    [failed] = events_named(events, "scope_sync_failed")
    assert failed["verified"] is False and failed["after"] == "zentygo"
    assert "mismatch" in failed["error"]
    assert events_named(events, "scope_synced") == []


def test_temporaries_of_killed_writers_are_swept(project, monkeypatch):
    path = project / ".ctxscope.toml"
    path.write_text(PROJECT_TEXT)
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    # atomic_write_text's temporaries: f".{name}.{pid}.{hex}.tmp"
    stale = project / f"..ctxscope.toml.{dead}.0a0b0c0d.tmp"
    stale.write_text("half")
    mine = project / f"..ctxscope.toml.{os.getpid()}.01020304.tmp"
    mine.write_text("live")
    monkeypatch.setenv("CTX_SCOPE", "zentygo")

    run_sync(Direction.RUNTIME_TO_LOCAL)

    assert not stale.exists()
    assert mine.exists()  # a live process's file is left alone


# Property: a write into any document changes only the scope's value


_key = st.sampled_from(["name", "timeout", "other-key", "x"])
_comment = st.text(alphabet="abc xyz#=[]\"'", max_size=12).map(lambda t: "# " + t)
_value = st.one_of(st.integers(-5, 5).map(str), st.sampled_from(['"a"', "'b'", "true", "[1, 2]"]))
_scope = st.from_regex(r"[a-z0-9][a-z0-9._:-]{0,20}", fullmatch=True).filter(lambda s: ".." not in s)


@st.composite
def documents(draw):
    lines = []
    for _ in range(draw(st.integers(0, 3))):
        lines.append(draw(_comment))
    if draw(st.booleans()):
        old = draw(st.sampled_from(['scope = "old"', "scope = 'old'", 'scope="old"  # c', "scope = 42"]))
        lines.append(old)
    for _ in range(draw(st.integers(0, 3))):
        lines.append(f"{draw(_key)}_{len(lines)} = {draw(_value)}")
    for t in range(draw(st.integers(0, 2))):
        lines.append("")
        lines.append(draw(_comment))
        lines.append(f"[table{t}]")
        for _ in range(draw(st.integers(0, 2))):
            lines.append(f"{draw(_key)}_{len(lines)} = {draw(_value)}")
            if draw(st.booleans()):
                lines.append(draw(_comment))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines) + (newline if draw(st.booleans()) else "")


def _comments(text):
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents(), value=_scope)
def test_write_changes_only_the_scope(project, doc, value):
    from ctxscope.sources.local import LocalSource

    path = project / ".ctxscope.toml"
    path.write_bytes(doc.encode())
    ctx = Context(cwd=str(project))

    written = LocalSource().write(ctx, value, path=str(path))

    text = path.read_bytes().decode()
    after = tomllib.loads(text)
    before = tomllib.loads(doc)
    assert after["scope"] == value
    assert {k: v for k, v in after.items() if k != "scope"} == {
        k: v for k, v in before.items() if k != "scope"
    }
    assert [k for k in after if k != "scope"] == [k for k in before if k != "scope"]
    if "scope" in before:
        assert list(after) == list(before)  # an existing key keeps its place
    assert _comments(text) == _comments(doc)
    assert written.verified
    assert ("\r\n" in text) == ("\r\n" in doc)


# resolved-to-cloud


def test_cloud_put_uses_if_match_and_reads_back(project, cloud, events):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    (project / ".ctxscope.toml").write_text('scope = "workout"\n\n[policy]\nmode = "cloud"\n')
    cloud.scope, cloud.revision = "zentygo", 7
    cloud.access = {"workout": "write"}

    plan, applied = run_sync(Direction.RESOLVED_TO_CLOUD)

    assert applied.error is None
    [change] = plan.changes
    assert (change.source, change.target, change.before, change.after) == (
        "cloud",
        cloud.url + "/v1/scope",
        "zentygo",
        "workout",
    )
    assert cloud.scope == "workout" and cloud.puts == [{"scope": "workout"}]
    [put] = [r for r in cloud.requests() if r.method == "PUT"]
    assert put.headers["If-Match"] == '"7"'
    # read back with a GET after the PUT, past the cache
    methods = [(r.method, r.path) for r in cloud.requests()]
    assert methods[methods.index(("PUT", "/v1/scope")) + 1] == ("GET", "/v1/scope")
    [event] = events_named(events, "scope_synced")
    assert (event["direction"], event["before"], event["after"], event["verified"]) == (
        "resolved-to-cloud",
        "zentygo",
        "workout",
        True,
    )
    assert resolve().state == "SYNCED"


def test_cloud_write_refused_in_local_mode(project, cloud):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}

    _ctx, plan = planned(direction=Direction.RESOLVED_TO_CLOUD)

    [change] = plan.changes
    assert "[policy] mode is 'local' (the default)" in change.blocked
    assert plan.writes == [] and plan.exit_code(shell=False) == 1


def test_observe_mode_blocks_local_writes_and_names_the_line(project, monkeypatch):
    path = project / ".ctxscope.toml"
    path.write_text('scope = "workout"\n[policy]\nmode = "observe"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")

    _ctx, plan = planned(direction=Direction.RUNTIME_TO_LOCAL)

    assert f"set at {path}:3" in plan.changes[0].blocked
    assert "observe" in plan.changes[0].blocked


def test_cloud_conflict_reports_both_values(project, cloud, events):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    cloud.race = "someone-else"

    _plan, applied = run_sync(Direction.RESOLVED_TO_CLOUD)

    assert isinstance(applied.error, ConflictError)
    message = applied.error.message
    assert "'zentygo'" in message and "'someone-else'" in message and "'workout'" in message
    assert cloud.scope == "someone-else"
    assert [r.method for r in cloud.requests("/v1/scope")].count("PUT") == 1  # never retried
    [failed] = events_named(events, "scope_sync_failed")
    assert failed["verified"] is False and "changed" in failed["error"]


def test_cloud_changed_between_put_and_read_back(project, cloud, events):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    cloud.after_put = "sneaky"

    _plan, applied = run_sync(Direction.RESOLVED_TO_CLOUD)

    assert isinstance(applied.error, VerificationError)
    assert applied.error.exit_code == ExitCode.ERROR
    assert "'sneaky'" in applied.error.message
    [failed] = events_named(events, "scope_sync_failed")
    assert failed["after"] == "workout" and failed["verified"] is False


def test_cloud_put_forbidden_is_unauthorized(project, cloud, events):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    cloud.put_status = 403

    _plan, applied = run_sync(Direction.RESOLVED_TO_CLOUD)

    assert isinstance(applied.error, UnauthorizedError)
    assert cloud.scope == "zentygo"
    assert events_named(events, "scope_sync_failed")


def test_read_access_is_not_enough_for_a_cloud_write(project, cloud):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "read"}
    ctx, plan = planned(direction=Direction.RESOLVED_TO_CLOUD)
    with pytest.raises(UnauthorizedError, match="write access"):
        reconcile.authorize(plan, ctx)
    assert cloud.puts == []


def test_local_write_needs_the_target_visible(project, cloud, monkeypatch):
    path = project / ".ctxscope.toml"
    path.write_text(PROJECT_TEXT)
    cloud.access = {"workout": "read"}
    monkeypatch.setenv("CTX_SCOPE", "secret")
    ctx, plan = planned(direction=Direction.RUNTIME_TO_LOCAL)
    with pytest.raises(UnauthorizedError, match="'secret' is not visible"):
        reconcile.authorize(plan, ctx)
    assert path.read_text() == PROJECT_TEXT


def test_no_cloud_configured_for_resolved_to_cloud(project):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    with pytest.raises(ConfigError, match="no cloud is configured"):
        planned(direction=Direction.RESOLVED_TO_CLOUD)


def test_cloud_down_is_a_cloud_error(project, monkeypatch, dead_url):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    with pytest.raises(CtxScopeError) as info:
        planned(direction=Direction.RESOLVED_TO_CLOUD)
    assert info.value.exit_code == ExitCode.CLOUD


# repair


def test_repair_plans_every_source(project, cloud, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n[policy]\nmode = "cloud"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    monkeypatch.setenv("CTX_SCOPE", "zentygo")

    _ctx, plan = planned("repair", to="workout")

    assert [(c.source, c.before, c.after, c.action) for c in plan.changes] == [
        ("local", "zentygo", "workout", "write"),
        ("cloud", "zentygo", "workout", "put"),
        ("cache", "zentygo", None, "clear"),
        ("runtime", "zentygo", None, "shell"),  # dropped: the file gives 'workout'
    ]
    assert plan.exit_code(shell=True) == 0 and plan.exit_code(shell=False) == 3


def test_repair_applies_and_clears_the_cache(project, cloud, monkeypatch, events):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n[policy]\nmode = "cloud"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write", "zentygo": "write"}
    resolve()  # fills the cache with the cloud's 'zentygo'

    ctx, plan = planned("repair", to="workout")
    reconcile.authorize(plan, ctx)
    applied = reconcile.apply(plan, ctx)

    assert applied.error is None
    assert [o.status for o in applied.outcomes] == ["written", "written", "cleared"]
    assert ctx.cloud.cache.get("scope") is None
    assert cloud.scope == "workout"
    repaired = events_named(events, "scope_repaired")
    assert [(e["direction"], e["before"], e["after"]) for e in repaired] == [
        ("target-to-local", "zentygo", "workout"),
        ("target-to-cloud", "zentygo", "workout"),
    ]
    res = resolve(offline=True)  # what the cache says now
    assert res.source("cloud").state == "error"  # nothing cached: the stale answer is gone
    assert resolve().state == "SYNCED"


def test_repair_backs_up_an_unparseable_file(project, events):
    path = project / ".ctxscope.toml"
    broken = 'scope = "workout\n# my notes\n'
    path.write_text(broken)
    path.chmod(0o600)

    ctx, plan = planned("repair", to="workout")
    [change] = plan.changes
    assert change.action == "replace_broken"
    applied = reconcile.apply(plan, ctx)

    [outcome] = applied.outcomes
    backup = outcome.backup
    assert os.path.dirname(backup) == str(project)
    with open(backup) as fh:
        assert fh.read() == broken
    assert tomllib.loads(path.read_text()) == {"scope": "workout"}
    assert os.path.basename(backup) in path.read_text()  # the new file says where the old went
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [event] = events_named(events, "scope_repaired")
    assert event["backup"] == backup and event["before"] is None


def test_repair_default_target_is_the_resolved_scope(project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    _ctx, plan = planned("repair")
    assert plan.scope == "zentygo"


def test_repair_default_target_skips_an_invalid_runtime(project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", " workout ")
    _ctx, plan = planned("repair")
    assert plan.scope == "workout"
    [change] = plan.changes
    assert change.source == "runtime" and change.extra["export"] is None
    assert change.extra["unset"] == ["CTX_SCOPE"]  # dropped: the file gives 'workout'


def test_repair_without_a_target_is_a_usage_error(project):
    with pytest.raises(UsageError, match="no resolved scope") as info:
        planned("repair")
    assert "--to SCOPE" in info.value.hint


def test_repair_rejects_an_invalid_target(project):
    with pytest.raises(UsageError, match=r"contains '\.\.'"):
        planned("repair", to="a..b")


def test_repair_replaces_an_invalid_cloud_value(project, cloud, httpserver):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    cloud.scope = "bad value"
    cloud.revision = 3
    cloud.access = {"workout": "write"}

    ctx, plan = planned("repair")
    cloud_change = next(c for c in plan.changes if c.source == "cloud")
    assert cloud_change.before == "bad value" and cloud_change.extra["revision"] == "3"
    reconcile.authorize(plan, ctx)
    assert reconcile.apply(plan, ctx).error is None
    assert cloud.scope == "workout"


def test_repair_in_local_mode_leaves_an_unset_cloud_alone(project, cloud):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    cloud.scope = None
    _ctx, plan = planned("repair", to="workout")
    assert [c.source for c in plan.changes] == ["local"]


def test_runtime_change_unsets_other_names_that_disagree(project, monkeypatch, user_config):
    user_config.write_text('[runtime]\nenv = ["CTX_SCOPE", "AGENT_SCOPE", "THIRD"]\n')
    monkeypatch.setenv("CTX_SCOPE", "workout")
    monkeypatch.setenv("AGENT_SCOPE", "zentygo")
    monkeypatch.setenv("THIRD", "workout")
    _ctx, plan = planned("repair")
    change = plan.runtime
    assert change.extra == {"export": None, "unset": ["AGENT_SCOPE"]}
    assert reconcile.shell_code(change, Shell.BASH) == "unset AGENT_SCOPE\n"
    assert reconcile.shell_code(change, Shell.FISH) == "set -e AGENT_SCOPE\n"


def test_shell_code_and_finish_command():
    change = reconcile.Change(
        "runtime",
        "env CTX_SCOPE, X",
        "old",
        "team/app:v1.2",
        "shell",
        None,
        {"export": "CTX_SCOPE", "unset": ["X"]},
    )
    assert reconcile.shell_code(change, "bash") == "export CTX_SCOPE='team/app:v1.2'\nunset X\n"
    assert reconcile.shell_code(change, "zsh") == "export CTX_SCOPE='team/app:v1.2'\nunset X\n"
    assert reconcile.shell_code(change, "fish") == "set -gx CTX_SCOPE 'team/app:v1.2'\nset -e X\n"
    assert reconcile.shell_code(None, "bash") == ""
    assert reconcile.finish_command("w", "bash") == 'eval "$(ctxscope repair --to w --shell bash)"'
    assert reconcile.finish_command("w", "fish") == "ctxscope repair --to w --shell fish | source"
    assert reconcile.guess_shell({"SHELL": "/usr/bin/fish"}) is Shell.FISH
    assert reconcile.guess_shell({}) is Shell.BASH


def test_core_does_not_import_typer_or_rich():
    import subprocess
    import sys

    code = "import sys, ctxscope.reconcile; print(sorted(m for m in ('typer', 'rich') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_repair_creates_a_local_file_only_when_nothing_else_would_resolve(project, monkeypatch):
    _ctx, plan = planned("repair", to="workout")
    assert [(c.source, c.action) for c in plan.changes] == [("local", "create")]

    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    _ctx, plan = planned("repair", to="workout")
    assert [c.source for c in plan.changes] == ["runtime"]  # the export makes it resolve


def test_repair_creates_a_local_file_when_the_cloud_stays_different(project, cloud, monkeypatch):
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    _ctx, plan = planned("repair", to="workout")
    assert [(c.source, c.action, bool(c.blocked)) for c in plan.changes] == [
        ("local", "create", False),
        ("cloud", "put", True),
    ]
    cloud.scope = "workout"
    _ctx, plan = planned("repair", to="workout")
    assert plan.changes == ()


def test_repair_leaves_an_unset_cloud_default_unset_in_cloud_mode(project, cloud):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n[policy]\nmode = "cloud"\n')
    cloud.scope = None
    cloud.access = {"workout": "write"}
    _ctx, plan = planned("repair", to="workout")
    assert [c.source for c in plan.changes] == ["local"]


# One helper for each job (no copies with their own wording)


def test_one_repository_root_for_writes_and_observers():
    import ctxscope.commands.init as init_module
    import ctxscope.observe as observe
    from ctxscope.sources import local

    assert observe.repository_root is local.repository_root
    assert not hasattr(observe, "find_repo_root")
    assert not hasattr(init_module, "find_repo_root")


def test_before_values_and_messages_use_the_scope_helpers():
    from ctxscope.commands import _writes
    from ctxscope.sources import cloud as cloud_source
    from ctxscope.sources import local

    assert not hasattr(reconcile, "_text") and not hasattr(local, "_before_value")
    for module in (local, cloud_source, _writes):
        assert not hasattr(module, "_shown"), module.__name__


def test_fresh_read_of_the_cloud_default_uses_the_clients_checks(project, httpserver, monkeypatch):
    """The GET that repair makes for the revision says what the client says of a 401."""
    from werkzeug import Response

    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", httpserver.url_for("").rstrip("/"))
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    httpserver.expect_request("/v1/scope").respond_with_response(
        Response('{"error": "no"}', status=401, content_type="application/json")
    )
    with pytest.raises(CtxScopeError, match=r"HTTP 401: CTXSCOPE_TOKEN is not set"):
        planned("repair", to="workout")


def test_repair_replaces_a_cloud_default_of_the_wrong_type(project, httpserver, monkeypatch):
    import json

    from werkzeug import Response

    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", httpserver.url_for("").rstrip("/"))
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    state = {"scope": 42, "revision": "1"}

    def scope(request):
        if request.method == "PUT":
            assert request.headers["If-Match"] == '"1"'
            state.update(scope=json.loads(request.data)["scope"], revision="2")
        return Response(json.dumps(state), content_type="application/json")

    httpserver.expect_request("/v1/scope").respond_with_handler(scope)
    httpserver.expect_request("/v1/scopes/workout").respond_with_json({"scope": "workout", "access": "write"})
    ctx, plan = planned("repair")
    [cloud_change] = [c for c in plan.changes if c.source == "cloud"]
    assert (cloud_change.before, cloud_change.extra["revision"]) == ("42", "1")
    reconcile.authorize(plan, ctx)
    assert reconcile.apply(plan, ctx).error is None
    assert state == {"scope": "workout", "revision": "2"}


# The lock of a local write


def test_lock_is_in_the_state_directory_keyed_by_the_real_path(project, monkeypatch, tmp_path):
    import hashlib

    from ctxscope import paths
    from ctxscope.sources.local import lock_path

    real = tmp_path / "dotfiles" / "ctxscope.toml"
    path = lock_path(str(real))
    name = hashlib.sha256(str(real).encode()).hexdigest()[:32]
    assert path == os.path.join(paths.state_dir(), "locks", name + ".lock")
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_writes_through_a_symlink_and_to_the_file_share_one_lock(project, monkeypatch, tmp_path):
    """Another process holding the lock of the real file holds up a write via the link."""
    import subprocess
    import sys

    from ctxscope.sources import local

    real = tmp_path / "dotfiles" / "ctxscope.toml"
    real.parent.mkdir()
    real.write_text(PROJECT_TEXT)
    (project / ".ctxscope.toml").symlink_to(real)
    _vouch_for(real.parent)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from ctxscope.fsutil import file_lock\n"
            "with file_lock(sys.argv[1]):\n"
            "    print('held', flush=True); time.sleep(60)\n",
            local.lock_path(str(real)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        monkeypatch.setattr(local, "LOCK_TIMEOUT", 0.3)
        ctx = context(command="sync")
        with pytest.raises(CtxScopeError, match="waiting for the lock"):
            local.LocalSource().write(ctx, "zentygo", path=str(project / ".ctxscope.toml"))
        ctx.close()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert tomllib.loads(real.read_text())["scope"] == "workout"


def test_a_write_leaves_nothing_untracked_in_the_repository(project, monkeypatch):
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    run_sync(Direction.RUNTIME_TO_LOCAL)
    monkeypatch.setenv("CTX_SCOPE", "workout")
    run_sync(Direction.RUNTIME_TO_LOCAL)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout.splitlines() == ["?? .ctxscope.toml"]


def test_repair_without_a_target_unsets_an_invalid_runtime_value(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", " x")
    ctx, plan = planned("repair")
    assert plan.scope is None
    [change] = plan.changes
    assert (change.source, change.before, change.after, change.extra) == (
        "runtime",
        " x",
        None,
        {"export": None, "unset": ["CTX_SCOPE"]},
    )
    assert plan.exit_code(shell=True) == 0 and plan.exit_code(shell=False) == 3
    assert reconcile.authorize(plan, ctx) == "not_checked"
    assert reconcile.shell_code(change, Shell.BASH) == "unset CTX_SCOPE\n"
    assert reconcile.finish_command(None, Shell.BASH) == 'eval "$(ctxscope repair --shell bash)"'


def test_repair_without_a_target_below_a_broken_source_is_still_a_usage_error(project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "workout\n')
    monkeypatch.setenv("CTX_SCOPE", " x")
    with pytest.raises(UsageError, match="no resolved scope to repair to"):
        planned("repair")
