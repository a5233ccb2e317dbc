"""`ctxscope repair`: every source to one target, shell code evaluated by real shells,
broken files backed up, unfinished work reported with the command that finishes it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import tomllib

import pytest


def local_scope(project):
    return tomllib.loads((project / ".ctxscope.toml").read_text()).get("scope")


def shell_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "CTX_SCOPE"}
    env.update(extra)
    return env


# Shell code, evaluated for real

SHELLS = {
    "bash": ["bash", "--norc", "--noprofile", "-c"],
    "zsh": ["zsh", "-f", "-c"],
    "fish": ["fish", "--no-config", "-c"],
}


def in_shell(name, script, cwd, env):
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed (apt-get install {name}; .ci/run installs it)")
    return subprocess.run(
        [*SHELLS[name], script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def eval_line(name, args):
    if name == "fish":
        return f"ctxscope repair {args} --shell fish | source"
    return f'eval "$(ctxscope repair {args} --shell {name})"'


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_eval_drops_ctx_scope_when_the_file_gives_the_target(shell, project):
    (project / ".ctxscope.toml").write_text('# mine\nscope = "zentygo"\n')
    script = (
        f"{eval_line(shell, '--to workout --yes')}\n"
        'echo "CTX=[$CTX_SCOPE]"\n'
        'ctxscope diff >/dev/null 2>&1; echo "diff=$status"\n'
        if shell == "fish"
        else f"{eval_line(shell, '--to workout --yes')}\n"
        'echo "CTX=[$CTX_SCOPE]"\n'
        'ctxscope diff >/dev/null 2>&1; echo "diff=$?"\n'
    )
    result = in_shell(shell, script, project, shell_env(CTX_SCOPE="zentygo"))
    # The file now gives the target, so the override is dropped, not pinned to a copy.
    assert "CTX=[]" in result.stdout, result.stdout + result.stderr
    assert local_scope(project) == "workout"
    assert re.search(r"diff=0", result.stdout), result.stdout + result.stderr
    assert "written  local" in result.stderr  # the report went to stderr, not into eval


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_eval_unsets_other_names_that_disagree(shell, project, user_config):
    user_config.write_text('[runtime]\nenv = ["CTX_SCOPE", "AGENT_SCOPE"]\n')
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    script = (
        f"{eval_line(shell, '')}\n"
        'echo "CTX=[$CTX_SCOPE]"\n'
        'set -q AGENT_SCOPE; and echo "AGENT=[$AGENT_SCOPE]"; or echo "AGENT unset"\n'
        if shell == "fish"
        else f'{eval_line(shell, "")}\necho "CTX=[$CTX_SCOPE]"\necho "AGENT=[${{AGENT_SCOPE-unset}}]"\n'
    )
    result = in_shell(shell, script, project, shell_env(CTX_SCOPE="workout", AGENT_SCOPE="zentygo"))
    assert "CTX=[workout]" in result.stdout, result.stdout + result.stderr
    assert ("AGENT unset" in result.stdout) or ("AGENT=[unset]" in result.stdout), result.stdout


def test_eval_fixes_an_invalid_ctx_scope_without_to(project):
    """The fix `status` names for a broken CTX_SCOPE: eval "$(ctxscope repair --shell bash)"."""
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    result = in_shell(
        "bash",
        'eval "$(ctxscope repair --shell bash)"; echo "CTX=[$CTX_SCOPE]"',
        project,
        shell_env(CTX_SCOPE="work out"),
    )
    assert "CTX=[]" in result.stdout, result.stderr  # dropped: the file gives 'workout'
    assert "unset CTX_SCOPE" not in result.stdout


def test_shell_output_is_only_shell_code(ctx, project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("repair", "--to", "workout", "--shell", "bash", "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "unset CTX_SCOPE\n"
    assert "written  local" in result.stderr
    fish = ctx("repair", "--to", "workout", "--shell", "fish")
    assert fish.stdout == "set -e CTX_SCOPE\n"
    # A target that nothing below gives is exported instead.
    pinned = ctx("repair", "--to", "other", "--shell", "bash", "--yes")
    assert pinned.returncode == 0, pinned.stderr
    assert pinned.stdout == "unset CTX_SCOPE\n"  # the file now holds 'other' too
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "observe"\n')
    refused = ctx("repair", "--to", "other", "--shell", "bash")
    assert refused.returncode == 1 and refused.stdout == ""  # no shell code from a failed repair
    assert "no shell code printed" in refused.stderr


def test_nothing_differs_prints_nothing_for_eval(ctx, project, monkeypatch, events):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "workout")
    result = ctx("repair", "--shell", "bash")
    assert result.returncode == 0
    assert result.stdout == ""
    assert "in sync" in result.stderr
    assert events() == []


def test_without_shell_the_runtime_is_unfinished_exit_3(ctx, project, monkeypatch, events):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    monkeypatch.setenv("SHELL", "/bin/bash")
    result = ctx("repair", "--to", "workout", "--yes")
    assert result.returncode == 3
    assert local_scope(project) == "workout"  # what could be done was done
    assert "env CTX_SCOPE still holds 'zentygo', to be unset" in result.stderr
    assert 'finish with: eval "$(ctxscope repair --to workout --shell bash)"' in result.stderr
    assert "done:" not in result.stdout
    [event] = [e for e in events() if e["event"] == "scope_repaired"]
    assert (event["direction"], event["before"], event["after"]) == ("target-to-local", "zentygo", "workout")


def test_finish_command_follows_the_users_shell(ctx, project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    monkeypatch.setenv("SHELL", "/usr/bin/fish")
    result = ctx("repair", "--to", "workout")
    assert result.returncode == 3
    assert "finish with: ctxscope repair --to workout --shell fish | source" in result.stderr


def test_unparseable_file_is_backed_up_and_replaced(ctx, project, events):
    path = project / ".ctxscope.toml"
    path.write_text('scope = "workout\n[cloud]\n')
    result = ctx("repair", "--to", "workout", "--yes")
    assert result.returncode == 0, result.stderr
    [backup] = [p for p in project.iterdir() if p.name.startswith(".ctxscope.toml.bak-")]
    assert backup.read_text() == 'scope = "workout\n[cloud]\n'
    assert f"the unparseable file was saved as {backup}" in result.stdout
    assert f"to undo: cp {backup} {path}" in result.stdout
    assert local_scope(project) == "workout"
    assert ctx("status", "--check").returncode == 0
    [event] = [e for e in events() if e["event"] == "scope_repaired"]
    assert event["backup"] == str(backup)


def test_repair_in_local_mode_leaves_the_cloud_and_says_so(ctx, project, cloud):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    result = ctx("repair", "--to", "workout", "--yes")
    assert result.returncode == 1
    assert local_scope(project) == "workout"
    assert cloud.scope == "zentygo" and cloud.puts == []
    assert f"cloud {cloud.url}/v1/scope still holds 'zentygo'" in result.stderr
    assert "[policy] mode is 'local' (the default)" in result.stderr


def test_full_repair_in_cloud_mode(ctx, project, cloud, user_config, monkeypatch, events):
    user_config.write_text('[policy]\nmode = "cloud"\n')
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write", "zentygo": "write"}
    assert ctx("status").returncode == 0  # caches the cloud's answer

    result = ctx("repair", "--to", "workout", "--yes", "--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["result"] == "applied" and data["unfinished"] == []
    assert [(c["source"], c["status"]) for c in data["changes"]] == [
        ("local", "written"),
        ("cloud", "written"),
        ("cache", "cleared"),
    ]
    assert cloud.scope == "workout"
    diff = ctx("diff")  # without --refresh: the stale cache is gone
    assert diff.returncode == 0, diff.stderr
    kinds = [e["event"] for e in events()]
    assert kinds.count("scope_repaired") == 2

    again = ctx("repair", "--to", "workout", "--yes")
    assert again.returncode == 0 and "in sync" in again.stdout
    assert [e["event"] for e in events()] == kinds  # nothing new


def test_unauthorized_target_is_exit_4_and_prints_no_code(ctx, project, cloud, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    cloud.access = {"zentygo": "write"}
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("repair", "--to", "secret", "--shell", "bash", "--yes")
    assert result.returncode == 4
    assert result.stdout == ""
    assert "'secret' is not visible to the token" in result.stderr
    assert local_scope(project) == "zentygo"


def test_repair_authorizes_the_target_not_the_current_scope(ctx, project, cloud, monkeypatch):
    """An unauthorized current scope is what repair is for."""
    (project / ".ctxscope.toml").write_text('scope = "stale-project"\n')
    cloud.access = {"workout": "read"}
    assert ctx("status", "--check").returncode == 4
    result = ctx("repair", "--to", "workout", "--yes")
    assert result.returncode == 0, result.stderr
    assert ctx("status", "--check").returncode == 0


def test_shell_and_json_do_not_mix(ctx, project):
    result = ctx("repair", "--shell", "bash", "--json")
    assert result.returncode == 2
    assert "--shell" in result.stderr


def test_invalid_target_is_a_usage_error(ctx, project):
    result = ctx("repair", "--to", "bad value", "--yes")
    assert result.returncode == 2
    assert "not allowed" in result.stderr


def test_no_target_is_a_usage_error(ctx, project):
    result = ctx("repair", "--yes")
    assert result.returncode == 2
    assert "ctxscope repair --to SCOPE" in result.stderr


def test_dry_run_with_shell_prints_no_code(ctx, project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("repair", "--to", "workout", "--shell", "bash", "--dry-run")
    assert result.returncode == 0
    assert result.stdout == ""
    assert "plan: repair to 'workout'" in result.stderr
    assert "runtime  env CTX_SCOPE" in result.stderr
    assert local_scope(project) == "zentygo"


def test_dry_run_exit_code_is_the_runs(ctx, project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("repair", "--to", "workout", "--dry-run")
    assert result.returncode == 3
    assert "would stay 'zentygo'" in result.stderr
    assert local_scope(project) == "zentygo"


def test_observe_mode_writes_nothing(ctx, project, monkeypatch):
    path = project / ".ctxscope.toml"
    path.write_text('scope = "zentygo"\n[policy]\nmode = "observe"\n')
    result = ctx("repair", "--to", "workout", "--yes")
    assert result.returncode == 1
    assert f"[policy] mode is 'observe' (set at {path}:3)" in result.stderr
    assert local_scope(project) == "zentygo"


def test_installed_repair(ctx, project):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    env = shell_env(CTX_SCOPE="zentygo", SHELL="/bin/bash")
    result = ctx("repair", "--to", "workout", "--yes", cwd=str(project), env=env)
    assert result.returncode == 3
    assert 'eval "$(ctxscope repair --to workout --shell bash)"' in result.stderr
    assert "Traceback" not in result.stderr
    code = ctx("repair", "--to", "workout", "--shell", "zsh", cwd=str(project), env=env)
    assert (code.returncode, code.stdout) == (0, "unset CTX_SCOPE\n")


def test_eval_with_the_prompt_on_a_real_terminal(project):
    """eval "$(...)": stdout is a pipe, the prompt goes to the terminal on stderr."""
    import pty
    import select

    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            "bash",
            "--norc",
            "--noprofile",
            "-c",
            'eval "$(ctxscope repair --to workout --shell bash)"; echo "CTX=[$CTX_SCOPE]"',
        ],
        cwd=project,
        env=shell_env(CTX_SCOPE="zentygo"),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    seen, answered = b"", False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"[y/N]" in seen:
                os.write(master, b"y\n")
                answered = True
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    output = seen.decode(errors="replace")
    assert answered, output
    assert "CTX=[]" in output
    assert local_scope(project) == "workout"


def test_status_names_a_repair_that_drops_the_override(ctx, project, cloud, monkeypatch):
    """The override disagrees with the project file: dropping it is the first fix."""
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.access = {"zentygo": "write", "workout": "write"}
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    fixes = json.loads(ctx("status", "--json").stdout)["fixes"]
    assert fixes[0] == 'eval "$(ctxscope repair --to workout --shell bash)"'
    assert fixes[1] == "or keep the runtime value: ctxscope sync --direction runtime-to-local --yes"


def test_when_the_project_file_agrees_with_the_override_the_cloud_follows(ctx, project, cloud, monkeypatch):
    """Runtime and the project file agree, the cloud differs: nothing to drop; the cloud
    follows, after the mode that allows a cloud write."""
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    cloud.scope = "workout"
    cloud.access = {"zentygo": "write", "workout": "write"}
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    fixes = json.loads(ctx("status", "--json").stdout)["fixes"]
    assert fixes == [
        "ctxscope config set policy.mode cloud --user --yes && "
        "ctxscope sync --direction resolved-to-cloud --yes"
    ]


def fix_line(ctx, cwd, env):
    return json.loads(ctx("status", "--json", cwd=cwd, env=env).stdout)["fix"]


def test_the_named_fix_for_disagreeing_variables_works(ctx, project, user_config):
    user_config.write_text('[runtime]\nenv = ["CTX_SCOPE", "AGENT_SCOPE"]\n')
    env = shell_env(CTX_SCOPE="workout", AGENT_SCOPE="zentygo")
    fix = fix_line(ctx, project, env)
    assert fix == 'eval "$(ctxscope repair --to workout --shell bash)"'
    result = in_shell("bash", f'{fix}\nctxscope status --check >/dev/null; echo "check=$?"', project, env)
    assert "check=0" in result.stdout, result.stdout + result.stderr


def test_the_named_fix_for_an_invalid_file_below_the_override_works(ctx, project):
    (project / ".ctxscope.toml").write_text('scope = "bad value"\n')
    env = shell_env(CTX_SCOPE="workout")
    fix = fix_line(ctx, project, env)
    assert fix == "ctxscope repair --to workout --yes"
    result = in_shell("bash", f'{fix} >/dev/null\nctxscope diff >/dev/null; echo "diff=$?"', project, env)
    assert "diff=0" in result.stdout, result.stdout + result.stderr


def test_the_named_fix_for_an_invalid_cloud_says_which_mode_it_needs(ctx, project, cloud):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope = "bad value"
    cloud.access = {"workout": "write"}
    env = shell_env()
    fix = fix_line(ctx, project, env)
    assert fix == ("ctxscope config set policy.mode cloud --user --yes && ctxscope repair --to workout --yes")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    fix = fix_line(ctx, project, env)
    assert fix == "ctxscope repair --to workout --yes"
    done = in_shell("bash", f'{fix} >/dev/null\nctxscope diff >/dev/null; echo "diff=$?"', project, env)
    assert "diff=0" in done.stdout and cloud.scope == "workout", done.stdout + done.stderr


# An invalid runtime value with nothing else set: the fix is to unset it


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_named_fix_unsets_an_invalid_ctx_scope_when_nothing_else_is_set(ctx, shell, project):
    """status names eval "$(ctxscope repair --shell bash)"; evaluated, CTX_SCOPE is unset."""
    env = shell_env(CTX_SCOPE=" x")
    fix = fix_line(ctx, project, env)
    assert fix == 'eval "$(ctxscope repair --shell bash)"  # or fix env CTX_SCOPE'
    if shell == "fish":
        script = (
            'ctxscope repair --shell fish | source; echo "rc=$pipestatus[1]"\n'
            'if set -q CTX_SCOPE; echo "CTX=[$CTX_SCOPE]"; else; echo "CTX unset"; end\n'
        )
    else:
        script = (
            f'eval "$(ctxscope repair --shell {shell})"; echo "rc=$?"\n'
            'if [ -n "${CTX_SCOPE+set}" ]; then echo "CTX=[$CTX_SCOPE]"; '
            'else echo "CTX unset"; fi\n'
        )
    result = in_shell(shell, script, project, env)
    assert "rc=0" in result.stdout and "CTX unset" in result.stdout, result.stdout + result.stderr
    assert "error" not in result.stderr
    assert not (project / ".ctxscope.toml").exists()  # nothing else was written


def test_unset_only_repair_prints_only_the_unset(ctx, project, monkeypatch, user_config, events):
    user_config.write_text('[runtime]\nenv = ["CTX_SCOPE", "AGENT_SCOPE"]\n')
    monkeypatch.setenv("CTX_SCOPE", "bad value")
    monkeypatch.setenv("AGENT_SCOPE", " padded")
    result = ctx("repair", "--shell", "bash")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "unset CTX_SCOPE\nunset AGENT_SCOPE\n"
    assert "done: env CTX_SCOPE, AGENT_SCOPE unset" in result.stderr
    assert ctx("repair", "--shell", "fish").stdout == "set -e CTX_SCOPE\nset -e AGENT_SCOPE\n"
    # nothing was written, so no write is logged (the invalid value itself is)
    assert [e["event"] for e in events() if e["event"] != "scope_drift_detected"] == []


def test_unset_only_repair_without_shell_is_unfinished(ctx, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", " x")
    monkeypatch.setenv("SHELL", "/usr/bin/fish")
    result = ctx("repair")
    assert result.returncode == 3
    assert "env CTX_SCOPE still holds ' x', to be unset" in result.stderr
    assert "finish with: ctxscope repair --shell fish | source" in result.stderr
    data = json.loads(ctx("repair", "--json").stdout)
    assert data["scope"] is None and data["exit_code"] == 3
    assert [(c["source"], c["after"], c["unset"]) for c in data["changes"]] == [
        ("runtime", None, ["CTX_SCOPE"])
    ]


def test_unset_only_repair_needs_no_authorization(ctx, project, cloud, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", " x")
    result = ctx("repair", "--shell", "bash")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "unset CTX_SCOPE\n"
    assert cloud.requests("/v1/scopes/") == []


def test_a_broken_source_below_an_invalid_ctx_scope_needs_a_target(ctx, project):
    """Then repair cannot guess, and status names --to SCOPE; the named fix with a scope works."""
    (project / ".ctxscope.toml").write_text('scope = "bad value"\n')
    env = shell_env(CTX_SCOPE=" x")
    fix = fix_line(ctx, project, env)
    assert fix == 'eval "$(ctxscope repair --to SCOPE --shell bash)"  # or fix env CTX_SCOPE'
    result = in_shell("bash", 'eval "$(ctxscope repair --shell bash)"; echo "rc=$?"', project, env)
    assert "there is no resolved scope to repair to" in result.stderr
    named = fix.replace("SCOPE", "workout", 1).split("  #")[0].replace("--shell", "--yes --shell")
    done = in_shell("bash", f'{named}\nctxscope status --check >/dev/null; echo "check=$?"', project, env)
    assert "check=0" in done.stdout, done.stdout + done.stderr
    assert local_scope(project) == "workout"
