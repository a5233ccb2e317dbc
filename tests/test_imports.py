"""Imports point one way (toward the leaves), and the hot paths stay light.

Each core module is imported in a fresh interpreter, which must not load typer,
rich, httpx or pydantic: agent runtimes import the core as a library and shell
hooks pay for every module. Then the hot commands run with a fresh cached cloud
answer, and httpx, rich and pydantic (and typer) must still not be loaded.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import ctxscope

HEAVY = ("typer", "rich", "httpx", "pydantic", "click")
# The modules that draw or parse for the CLI and may import typer or rich.
UI_MODULES = {"ctxscope.cli", "ctxscope.options", "ctxscope.render", "ctxscope.render_forensics",
              "ctxscope.render_stats"}
# The optional extras' packages: only the commands that need them may load them.
EXTRAS = ("opentelemetry", "prometheus_client", "uvicorn", "google")


def _modules() -> list[str]:
    found = []
    for info in pkgutil.walk_packages(ctxscope.__path__, "ctxscope."):
        if info.name in UI_MODULES:
            continue
        found.append(info.name)
    return sorted(found)


def _loaded_after(code: str, cwd=None) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after running `code`."""
    probe = (f"{code}\nimport json, sys\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=cwd, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_module_list_is_not_empty():
    names = _modules()
    for core in ("ctxscope.resolver", "ctxscope.hook", "ctxscope._entry", "ctxscope.config",
                 "ctxscope.sources.cloud", "ctxscope.cloud", "ctxscope.report"):
        assert core in names


@pytest.mark.parametrize("module", _modules())
def test_core_module_imports_nothing_heavy(module):
    loaded = _loaded_after(f"import {module}")
    assert not loaded & set(HEAVY), f"{module} pulls in {sorted(loaded & set(HEAVY))}"


# Modules the hook imports that promise to stay lighter still: their heavy helpers
# (tomlkit for edits, tempfile/shutil, pathlib) are imported inside the functions.
LIGHTER = {
    "ctxscope.fsutil": ("tempfile", "shutil", "typing", "pathlib", "dataclasses", "tomlkit"),
    "ctxscope.tomledit": ("tomlkit", "tomllib"),
}


@pytest.mark.parametrize("module", sorted(LIGHTER))
def test_light_modules_stay_light(module):
    loaded = _loaded_after(f"import {module}")
    assert not loaded & set(LIGHTER[module]), sorted(loaded & set(LIGHTER[module]))


def test_the_ui_modules_do_load_what_they_draw_with():
    """The probe can see a heavy import: otherwise the test above proves nothing."""
    assert {"typer"} <= _loaded_after("import ctxscope.cli")
    assert {"rich"} <= _loaded_after("import ctxscope.render")


HOT = """
import sys
from ctxscope import _entry
try:
    _entry.main({argv!r})
except SystemExit:
    pass
"""


@pytest.fixture
def cached_cloud(ctx, project, cloud, monkeypatch):
    """A project in sync with a cloud whose answers are cached and fresh."""
    (project / ".ctxscope.toml").write_text('scope = "demo"\n')
    cloud.scope = "demo"
    cloud.access = {"demo": "write"}
    monkeypatch.setenv("CTXSCOPE_TOKEN", "tok")
    warm = ctx("resolve", cwd=project)
    assert (warm.returncode, warm.stdout) == (0, "demo\n"), warm.stderr
    return cloud


@pytest.mark.parametrize("argv, allowed", [
    (["resolve"], ()),
    (["resolve", "--json"], ()),
    (["prompt"], ()),
    (["prompt", "--json"], ()),
    (["hook", "bash", "--run"], ()),
    (["hook", "bash", "--run", "--json"], ()),
    (["hook", "bash", "--json"], ()),
    (["status", "--json"], ()),
    (["diff", "--json"], ()),
    (["exec", "--dry-run", "--", "true"], ()),  # a real exec would replace the probe
    (["status"], ("rich",)),
    (["diff"], ("rich",)),
])
def test_hot_commands_with_a_fresh_cache_stay_light(argv, allowed, cached_cloud, project):
    before = len(cached_cloud.requests())
    loaded = _loaded_after(HOT.format(argv=argv), cwd=project)
    assert len(cached_cloud.requests()) == before  # the cache answered
    # Also no tomlkit (only writes need it) and, on Linux, no platformdirs (paths.py).
    forbidden = (set(HEAVY) | {"tomlkit"} | set(EXTRAS)
                 | ({"platformdirs"} if sys.platform == "linux" else set()))
    assert not loaded & (forbidden - set(allowed)), sorted(loaded & forbidden)
    if allowed:
        assert set(allowed) <= loaded  # the probe ran the command that draws


def test_logging_a_drift_event_loads_no_extra_without_otlp_settings(project, log_file):
    """The OpenTelemetry SDK is imported only when an OTLP endpoint is set."""
    (project / ".ctxscope.toml").write_text('scope = "local"\n')
    code = HOT.format(argv=["resolve", "--scope", "other"])
    loaded = _loaded_after(code, cwd=project)
    assert log_file.exists()  # the drift event was written
    assert not loaded & set(EXTRAS), sorted(loaded & set(EXTRAS))
