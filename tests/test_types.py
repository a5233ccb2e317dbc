"""Type information for library users: ctxscope ships py.typed, and the names `import ctxscope`
loads lazily are visible to type checkers, with concrete types, while staying lazy at run time."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ctxscope

INIT = Path(ctxscope.__file__)

USER_CODE = """\
import ctxscope

r = ctxscope.resolve()
reveal_type(r.resolved_scope)
s: str = ctxscope.require_scope()
reveal_type(s)
try:
    ctxscope.require_scope(cwd=".")
except ctxscope.ScopeError as exc:
    reveal_type(exc.exit_code)
reveal_type(ctxscope.__version__)
"""


def test_a_user_of_the_library_gets_concrete_types(tmp_path):
    """mypy --strict on code that uses the lazy top-level names: no error, no Any."""
    pytest.importorskip("mypy", reason="mypy is not installed (pip install mypy)")
    (tmp_path / "use_ctxscope.py").write_text(USER_CODE)
    # Our own config, so that neither the repository's [tool.mypy] nor a user's applies.
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            str(tmp_path / "cache"),
            "use_ctxscope.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    revealed = [
        line.split("Revealed type is ", 1)[1]
        for line in done.stdout.splitlines()
        if "Revealed type is " in line
    ]
    # Spelled "str | None" by mypy 2, "Union[builtins.str, None]" by older ones.
    assert len(revealed) == 4 and not any("Any" in t for t in revealed), done.stdout
    assert "str" in revealed[0] and "None" in revealed[0], done.stdout
    assert revealed[1].strip('"') in ("str", "builtins.str"), done.stdout
    assert revealed[2].strip('"') == "ctxscope.errors.ExitCode", done.stdout
    assert revealed[3].strip('"') in ("str", "builtins.str"), done.stdout
    assert "Success: no issues found" in done.stdout


def _lazy_and_checked_names() -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """`_LAZY` as written, and the `if TYPE_CHECKING:` imports as {name: (module, attribute)}."""
    tree = ast.parse(INIT.read_text())
    lazy: dict[str, tuple[str, str]] | None = None
    checked: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["_LAZY"]:
            lazy = ast.literal_eval(node.value)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                if isinstance(imp, ast.AnnAssign) and ast.unparse(imp.target) == "__version__":
                    continue  # declared for checkers; __getattr__ reads it from the metadata
                assert isinstance(imp, ast.ImportFrom) and imp.level == 1, ast.dump(imp)
                for alias in imp.names:
                    # `X as X`: a re-export, also for checkers that require it (mypy --strict).
                    assert alias.asname == alias.name, f"import {alias.name} as {alias.name}"
                    checked[alias.name] = (f"ctxscope.{imp.module}", alias.name)
    assert lazy is not None and checked, "ctxscope/__init__.py: no _LAZY or no TYPE_CHECKING block"
    return lazy, checked


def test_the_type_checking_imports_are_exactly_the_lazy_names():
    lazy, checked = _lazy_and_checked_names()
    assert sorted(checked) == sorted(lazy)
    assert checked == lazy  # and each from the module __getattr__ loads it from


def test_import_ctxscope_stays_lazy():
    """The type-checking imports never run: `import ctxscope` loads nothing else, not even
    its version (read from the package metadata when `ctxscope.__version__` is asked for)."""
    code = (
        "import sys, json; before = set(sys.modules); import ctxscope; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=dict(os.environ),
    )
    loaded = set(json.loads(done.stdout)) - {"__future__"}  # `from __future__ import annotations`
    assert loaded == {"ctxscope"}


def test_the_package_is_marked_typed():
    assert (INIT.parent / "py.typed").is_file()
