"""`ctxscope trust`: path + content hash recorded; any change needs trust again."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from ctxscope import paths


def test_trust_then_change_then_revoke(ctx, project, httpserver):
    url = httpserver.url_for("/").rstrip("/")
    f = project / ".ctxscope.toml"
    f.write_text(f'scope = "a"\n[cloud]\nurl = "{url}"\n')
    status = ctx("status", "--json")
    assert json.loads(status.stdout)["sources"][2]["state"] == "not_configured"

    result = ctx("trust")
    assert result.returncode == 0 and "trusted" in result.stdout
    store = paths.trust_file()
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    assert str(f) in json.loads(Path(store).read_text())

    f.write_text(f.read_text() + "\n# changed\n")
    status = ctx("status", "--json")
    assert "not trusted" in status.stderr

    ctx("trust", "--yes")
    ctx("trust", "--revoke")
    assert str(f) not in json.loads(Path(store).read_text())


def test_trust_without_project_file_is_an_error(ctx, project):
    result = ctx("trust")
    assert result.returncode == 1


def test_error_is_one_line_through_the_boundary(ctx, project):
    result = ctx("trust")
    assert "Traceback" not in result.stderr  # no exception got past the error boundary
    assert result.stderr.startswith("ctxscope: error: no .ctxscope.toml")
