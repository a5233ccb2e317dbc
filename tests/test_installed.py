"""The installed `ctxscope` command, in a subprocess (the `ctx` fixture):
exit codes, stdout/stderr separation, no tracebacks."""

from __future__ import annotations

import json
import os

import pytest


def test_seed_incident_end_to_end(ctx, project, cloud, events):
    (project / ".ctxscope.toml").write_text('# linked by hand\nscope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "write", "workout": "write"}
    env = {"CTX_SCOPE": "zentygo", "CTXSCOPE_TOKEN": "tok-SECRET-123"}

    status = ctx("status", cwd=project, env={**os.environ, **env})
    assert status.returncode == 0
    assert "DRIFTED" in status.stdout and "local_mismatch" in status.stdout

    check = ctx("status", "--check", cwd=project, env={**os.environ, **env})
    assert check.returncode == 3

    resolved = ctx("resolve", cwd=project, env={**os.environ, **env})
    assert (resolved.returncode, resolved.stdout) == (0, "zentygo\n")

    diff = ctx("diff", "--json", cwd=project, env={**os.environ, **env})
    assert diff.returncode == 3
    assert json.loads(diff.stdout)["reasons"] == ["local_mismatch"]

    logged = events()
    assert [e["event"] for e in logged] == ["scope_drift_detected"]  # de-duplicated
    for output in (status, check, resolved, diff):
        assert "tok-SECRET-123" not in output.stdout + output.stderr
    assert "tok-SECRET-123" not in json.dumps(logged)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["resolve"], 5),
        (["status", "--check"], 5),
        (["diff"], 5),
        (["status"], 0),
        (["resolve", "--bogus"], 2),
        (["nonsense"], 2),
    ],
)
def test_exit_codes(ctx, project, args, code):
    result = ctx(*args, cwd=project)
    assert result.returncode == code
    assert "Traceback" not in result.stderr


def test_config_error_is_one_line_no_traceback(ctx, project):
    (project / ".ctxscope.toml").write_text('scope = "a"\ntoken = "x"\n')
    for args in (["status"], ["resolve"], ["diff"]):
        result = ctx(*args, cwd=project)
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
        assert ".ctxscope.toml:2" in result.stderr


def test_cloud_down_exit_6(ctx, project, dead_url):
    result = ctx("resolve", cwd=project, env={**os.environ, "CTXSCOPE_CLOUD_URL": dead_url})
    assert (result.returncode, result.stdout) == (6, "")
    assert "Traceback" not in result.stderr


def test_piped_output_has_no_escape_codes(ctx, project):
    result = ctx("status", cwd=project, env={**os.environ, "CTX_SCOPE": "zentygo"})
    assert "\x1b[" not in result.stdout
    forced = ctx("status", cwd=project, env={**os.environ, "CTX_SCOPE": "zentygo", "FORCE_COLOR": "1"})
    assert "\x1b[" in forced.stdout


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(ctx, project, flag):
    from ctxscope import __version__

    result = ctx(flag, cwd=project)
    assert result.stdout.strip() == f"ctxscope {__version__}"


@pytest.mark.parametrize("args", [["status"], ["resolve"], ["diff"], ["config"], ["trust"]])
def test_deleted_working_directory_is_one_line(tmp_path, args):
    gone = tmp_path / "gone"
    gone.mkdir()
    # The child starts in the directory, which is removed before ctxscope looks at it.
    code = f"cd {str(gone)!r} && rmdir {str(gone)!r} && exec ctxscope {' '.join(args)}"
    import subprocess

    result = subprocess.run(["bash", "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert result.returncode == 1
    assert result.stderr == (
        "ctxscope: error: the working directory no longer exists (cd to an existing directory)\n"
    )
