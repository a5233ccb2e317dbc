"""CI and the pre-commit hooks run the same checks, with the versions the `dev` extra pins."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# What .ci/run checks before the tests, as each appears in both files.
CHECKS = ("ruff check", "ruff format --check", "mypy", "python tools/docgen.py --check")


def _hook_entries() -> list[str]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    return [hook["entry"] for repo in config["repos"] for hook in repo["hooks"]]


def test_ci_and_pre_commit_run_the_same_checks():
    ci = (ROOT / ".ci" / "run").read_text()
    entries = _hook_entries()
    for check in CHECKS:
        assert any(entry.startswith(check) for entry in entries), f"no pre-commit hook runs {check}"
        assert re.search(rf"^\.venv/bin/{re.escape(check)}\b", ci, re.M), f".ci/run does not run {check}"
    assert len(entries) == len(CHECKS), "a hook that CI does not run: add it to .ci/run and CHECKS"


def test_the_dev_extra_pins_the_checkers_and_test_includes_it():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "ctxscope[dev]" in extras["test"]
    pins = dict(d.split("==") for d in extras["dev"] if "==" in d)
    assert set(pins) >= {"ruff", "mypy"}
    for tool, pinned in pins.items():
        assert version(tool) == pinned, f"{tool} {version(tool)} is installed, the dev extra pins {pinned}"
