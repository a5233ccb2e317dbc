"""Imports point one way (toward the leaves), and the hot paths stay light.

Every import inside `ctxscope`, including the ones inside functions, is read from the
source and checked against the declared layers below: a module may import from its own
layer or a lower one, never from a higher one, and the imports that run form no cycle.

Each core module is also imported in a fresh interpreter, which must not load typer,
rich, httpx or pydantic: agent runtimes import the core as a library and shell
hooks pay for every module. Then the hot commands run with a fresh cached cloud
answer, and httpx, rich and pydantic (and typer) must still not be loaded.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import ctxscope

# The layers, lowest first. CONTRIBUTING.md draws the same picture; keep the two together.
LAYERS: dict[str, set[str]] = {
    # Exit codes and errors, the shared vocabulary and data types, scope rules, paths,
    # file and TOML helpers, the output writer and the one cleaning step for terminals.
    "leaves": {
        "_version",
        "errors",
        "kinds",
        "scope",
        "deadline",
        "sanitize",
        "output",
        "paths",
        "fsutil",
        "tomledit",
    },
    # What a scope is read from or recorded in: settings and trust, the cloud clients and
    # their cache, the four sources, observed files, the drift log and its readers.
    "sources": {
        "config",
        "context",
        "trust",
        "cache",
        "cloud",
        "etcd",
        "sources",
        "sources.runtime",
        "sources.local",
        "sources.cloud",
        "sources.fallback",
        "observe",
        "events",
        "otel",
        "logview",
        "logstats",
        "metrics",
    },
    # The one chain and its plain-data views; the library gate; launching under a scope.
    "resolver": {"resolver", "report", "gate", "launch"},
    # Acting on a resolution: planning and applying writes, settings edits and undo, the
    # shell hook, processes, watching, and drawing tables (the only place rich is used).
    "reconcile/report/render": {
        "reconcile",
        "configedit",
        "undo",
        "hook",
        "procs",
        "watch",
        "render",
        "render_forensics",
        "render_stats",
    },
    # Each command's body, and the two servers built from the same bodies.
    "commands": {"commands", "health", "mcp_server"},
    # The command-line declarations, the console script with its fast path, the package.
    "cli/entry": {"cli", "options", "_entry", ""},
}

PACKAGE = Path(ctxscope.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer_of(module: str) -> int:
    """The layer index of a module named relative to the package ("" is the package)."""
    if module.startswith("commands."):
        module = "commands"  # every command's body sits in the commands layer
    for index, members in enumerate(LAYERS.values()):
        if module in members:
            return index
    raise LookupError(module)


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module relative to the package, line, only for type checkers) of one file."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    known = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [
                a.name.removeprefix("ctxscope").lstrip(".")
                for a in node.names
                if a.name == "ctxscope" or a.name.startswith("ctxscope.")
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == "ctxscope" or node.module.startswith("ctxscope.")):
                origin = node.module.removeprefix("ctxscope").lstrip(".")
            else:
                continue
            # `from . import x` and `from .sources import local` name modules too; `from .
            # import fsutil` imports fsutil, not the package's own __init__ beyond its start.
            submodules = [
                f"{origin}.{a.name}".lstrip(".")
                for a in node.names
                if f"{origin}.{a.name}".lstrip(".") in known
            ]
            names = submodules if node.module is None and submodules else [origin, *submodules]
        typing_only = _under_type_checking(node, parents)
        found += [(name, node.lineno, typing_only) for name in names if name != module]
    return found


def _import_graph() -> dict[str, list[tuple[str, int, bool]]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _upward(graph) -> list[str]:
    wrong = []
    for module, imports in graph.items():
        for name, line, _ in imports:
            if _layer_of(name) > _layer_of(module):
                layers = list(LAYERS)
                wrong.append(
                    f"ctxscope/{module or '__init__'}:{line} ({layers[_layer_of(module)]}) "
                    f"imports {name} ({layers[_layer_of(name)]})"
                )
    return wrong


def _cycles(graph) -> list[list[str]]:
    """The strongly connected components of more than one module (imports that run only)."""
    edges = {
        m: {n for n, _, typing_only in imps if not typing_only and n in graph} for m, imps in graph.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer():
    missing = []
    for module in _import_graph():
        try:
            _layer_of(module)
        except LookupError:
            missing.append(module)
    assert not missing, f"add these modules to LAYERS (and to CONTRIBUTING.md's layout): {missing}"


def test_imports_point_down_the_layers():
    assert _upward(_import_graph()) == []


def test_the_imports_that_run_form_no_cycle():
    assert _cycles(_import_graph()) == []


def test_the_layer_checks_see_an_upward_import_and_a_cycle():
    """The checks can fail: a resolver importing the CLI, and two modules importing each other."""
    graph = _import_graph()
    graph["resolver"] = [*graph["resolver"], ("cli", 1, False)]
    assert _upward(graph) == ["ctxscope/resolver:1 (resolver) imports cli (cli/entry)"]
    graph["scope"] = [("errors", 1, False)]
    graph["errors"] = [("scope", 1, False)]
    assert ["errors", "scope"] in _cycles(graph)
    graph["errors"] = [("scope", 1, True)]  # an import for type checkers only never runs
    assert ["errors", "scope"] not in _cycles(graph)


def test_the_import_reader_sees_imports_inside_functions():
    imports = {name for name, _, _ in _import_graph()["resolver"]}
    assert "report" in imports  # Resolution.to_dict imports it when called
    assert {"sources.local", "kinds", "errors"} <= imports


HEAVY = ("typer", "rich", "httpx", "pydantic", "click")
# The modules that draw or parse for the CLI and may import typer or rich.
UI_MODULES = {
    "ctxscope.cli",
    "ctxscope.options",
    "ctxscope.render",
    "ctxscope.render_forensics",
    "ctxscope.render_stats",
}
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
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_module_list_is_not_empty():
    names = _modules()
    for core in (
        "ctxscope.resolver",
        "ctxscope.hook",
        "ctxscope._entry",
        "ctxscope.config",
        "ctxscope.sources.cloud",
        "ctxscope.cloud",
        "ctxscope.report",
    ):
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


@pytest.mark.parametrize(
    "argv, allowed",
    [
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
    ],
)
def test_hot_commands_with_a_fresh_cache_stay_light(argv, allowed, cached_cloud, project):
    before = len(cached_cloud.requests())
    loaded = _loaded_after(HOT.format(argv=argv), cwd=project)
    assert len(cached_cloud.requests()) == before  # the cache answered
    # Also no tomlkit (only writes need it) and, on Linux, no platformdirs (paths.py).
    forbidden = (
        set(HEAVY) | {"tomlkit"} | set(EXTRAS) | ({"platformdirs"} if sys.platform == "linux" else set())
    )
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
