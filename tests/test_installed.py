"""The installed `ctxscope` command (pytest-console-scripts, subprocess mode):
exit codes, stdout/stderr separation, no tracebacks."""

from __future__ import annotations

import json
import os

import pytest


def run(script_runner, *args, cwd, **env):
    full_env = {**os.environ, **env}
    return script_runner.run(["ctxscope", *args], cwd=str(cwd), env=full_env)


def test_seed_incident_end_to_end(script_runner, project, cloud, events):
    (project / ".ctxscope.toml").write_text('# linked by hand\nscope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "write", "workout": "write"}
    env = {"CTX_SCOPE": "zentygo", "CTXSCOPE_TOKEN": "tok-SECRET-123"}

    status = run(script_runner, "status", cwd=project, **env)
    assert status.returncode == 0
    assert "DRIFTED" in status.stdout and "local_mismatch" in status.stdout

    check = run(script_runner, "status", "--check", cwd=project, **env)
    assert check.returncode == 3

    resolved = run(script_runner, "resolve", cwd=project, **env)
    assert (resolved.returncode, resolved.stdout) == (0, "zentygo\n")

    diff = run(script_runner, "diff", "--json", cwd=project, **env)
    assert diff.returncode == 3
    assert json.loads(diff.stdout)["reasons"] == ["local_mismatch"]

    logged = events()
    assert [e["event"] for e in logged] == ["scope_drift_detected"]  # de-duplicated
    for output in (status, check, resolved, diff):
        assert "tok-SECRET-123" not in output.stdout + output.stderr
    assert "tok-SECRET-123" not in json.dumps(logged)


@pytest.mark.parametrize(("args", "code"), [
    (["resolve"], 5),
    (["status", "--check"], 5),
    (["diff"], 5),
    (["status"], 0),
    (["resolve", "--bogus"], 2),
    (["nonsense"], 2),
])
def test_exit_codes(script_runner, project, args, code):
    result = run(script_runner, *args, cwd=project)
    assert result.returncode == code
    assert "Traceback" not in result.stderr


def test_config_error_is_one_line_no_traceback(script_runner, project):
    (project / ".ctxscope.toml").write_text('scope = "a"\ntoken = "x"\n')
    for args in (["status"], ["resolve"], ["diff"]):
        result = run(script_runner, *args, cwd=project)
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
        assert ".ctxscope.toml:2" in result.stderr


def test_cloud_down_exit_6(script_runner, project, dead_url):
    result = run(script_runner, "resolve", cwd=project, CTXSCOPE_CLOUD_URL=dead_url)
    assert (result.returncode, result.stdout) == (6, "")
    assert "Traceback" not in result.stderr


def test_piped_output_has_no_escape_codes(script_runner, project):
    result = run(script_runner, "status", cwd=project, CTX_SCOPE="zentygo")
    assert "\x1b[" not in result.stdout
    forced = run(script_runner, "status", cwd=project, CTX_SCOPE="zentygo", FORCE_COLOR="1")
    assert "\x1b[" in forced.stdout


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(script_runner, project, flag):
    from ctxscope import __version__

    result = run(script_runner, flag, cwd=project)
    assert result.stdout.strip() == f"ctxscope {__version__}"


@pytest.mark.parametrize("args", [["status"], ["resolve"], ["diff"], ["config"], ["trust"]])
def test_deleted_working_directory_is_one_line(script_runner, tmp_path, args):
    gone = tmp_path / "gone"
    gone.mkdir()
    # The child starts in the directory, which is removed before ctxscope looks at it.
    code = f"cd {str(gone)!r} && rmdir {str(gone)!r} && exec ctxscope {' '.join(args)}"
    import subprocess

    result = subprocess.run(["bash", "-c", code], capture_output=True, text=True,
                            env=dict(os.environ))
    assert result.returncode == 1
    assert result.stderr == ("ctxscope: error: the working directory no longer exists "
                             "(cd to an existing directory)\n")
