"""The wheel a user gets from `pip install .` holds every module, the event schema, the
completion scripts and the man page; installed from it, `ctxscope completion SHELL` prints
the shipped script and `man ctxscope` finds the page."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "ctxscope" / "data"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built from a copy of what the wheel is made of: a build writes build/ and
    # *.egg-info/ into its source tree, and another pytest-xdist worker may be building too.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "ctxscope", source / "ctxscope", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    [built] = out.glob("ctxscope-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict[str, str]:
    """The wheel installed (not editable) into a fresh prefix, as `pip install` does into a
    venv: the environment that runs that copy of `ctxscope`, with the prefix's bin first on
    PATH (the test interpreter provides the dependencies)."""
    prefix = tmp_path_factory.mktemp("prefix")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--ignore-installed",
            "--no-warn-script-location",
            "--prefix",
            str(prefix),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    site = sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)})
    return {
        "PREFIX": str(prefix),
        "PYTHONPATH": site,
        "PATH": f"{prefix}/bin{os.pathsep}{os.environ['PATH']}",
    }


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=60, env={**os.environ, **env}, cwd=env["PREFIX"]
    )


def test_wheel_contains_every_package_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "ctxscope").rglob("*")
        if p.is_file() and p.suffix not in (".pyc",) and "__pycache__" not in p.parts
    }
    assert expected, "no package files found"
    assert expected <= names, sorted(expected - names)
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    version = wheel.name.split("-")[1]
    assert f"ctxscope-{version}.data/data/share/man/man1/ctxscope.1" in names
    assert not any(n.startswith(("tools/", "docs/")) for n in names)


def test_the_installed_copy_is_the_one_that_runs(installed):
    done = _run(installed, "ctxscope", "-V")
    assert done.returncode == 0 and re.fullmatch(r"ctxscope \S+\n", done.stdout), done
    where = _run(installed, sys.executable, "-c", "import ctxscope; print(ctxscope.__file__)")
    assert where.stdout.startswith(installed["PREFIX"]), where.stdout
    assert shutil.which("ctxscope", path=installed["PATH"]).startswith(installed["PREFIX"])


@pytest.mark.parametrize(
    ("shell", "name"), [("bash", "ctxscope.bash"), ("zsh", "_ctxscope"), ("fish", "ctxscope.fish")]
)
def test_completion_prints_the_shipped_script(installed, shell, name):
    done = _run(installed, "ctxscope", "completion", shell)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (DATA / "completions" / name).read_text(encoding="utf-8")


def test_completion_of_an_unknown_shell_is_a_usage_error(installed):
    done = _run(installed, "ctxscope", "completion", "csh")
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr


def test_man_finds_the_page_after_pip_install(installed):
    """man-db looks in ../share/man beside each bin/ directory on PATH: no MANPATH needed."""
    if shutil.which("man") is None:
        pytest.skip("man is not installed (.ci/run installs man-db)")
    env = {**installed, "MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80", "LANG": "C.UTF-8"}
    where = subprocess.run(
        ["man", "-w", "ctxscope"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in {**os.environ, **env}.items() if k != "MANPATH"},
    )
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip() == f"{installed['PREFIX']}/share/man/man1/ctxscope.1"
    shown = subprocess.run(
        ["man", "ctxscope"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in {**os.environ, **env}.items() if k != "MANPATH"},
    )
    assert shown.returncode == 0, shown.stderr
    text = re.sub(r".\x08", "", shown.stdout)
    assert "ctxscope - one resolver for AI-agent project scope" in text
    assert "completion" in text


def test_the_version_has_one_source_the_package_metadata():
    """pyproject.toml sets the version; `ctxscope -V`, `ctxscope.__version__`, the event
    records and the MCP server read it from the installed package's metadata. Finding it
    does not import importlib.metadata, which costs more than a cached resolve."""
    import tomllib
    from importlib.metadata import version as installed_version

    from ctxscope import _version

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert installed_version("ctxscope") == declared
    assert _version._from_metadata() == declared  # the fallback agrees with the fast look-up
    probe = "import sys, ctxscope; v = ctxscope.__version__; print(v, 'importlib.metadata' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.stdout.split() == [declared, "False"], done.stderr
    written = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "ctxscope").rglob("*.py")
        if re.search(rf"""["']{re.escape(declared)}["']""", p.read_text())
    ]
    assert written == [], "the version is written in the code; pyproject.toml is its one source"


def test_cli_version_reads_the_same_source(installed):
    done = _run(installed, "ctxscope", "--version")
    declared = _run(
        installed, sys.executable, "-c", "from importlib.metadata import version; print(version('ctxscope'))"
    )
    assert done.stdout == f"ctxscope {declared.stdout}"
