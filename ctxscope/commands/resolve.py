"""`ctxscope resolve`: the scope alone on stdout, for `$(ctxscope resolve)`.

Both entry paths call `resolve()`: the Typer command in `cli` and the fast path
in `_entry`, so both print and exit the same way. Diagnostics go to stderr.
"""

from __future__ import annotations

import sys

from ..errors import ExitCode
from ..output import err, error_line, print_json, warn_all

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing on the fast path
if TYPE_CHECKING:
    from ..resolver import Resolution


def resolve(
    *,
    scope: str | None = None,
    json_out: bool = False,
    explain: bool = False,
    offline: bool = False,
    refresh: bool = False,
) -> int:
    """Print the resolved scope alone on stdout; exit non-zero when there is none to use."""
    from ..report import resolution_to_dict, summary_line
    from ..resolver import resolve as resolve_scope

    res = resolve_scope(scope=scope, offline=offline, refresh=refresh, command="resolve")
    warn_all(res.warnings)
    if explain:
        for r in res.sources:
            mark = ">" if r.state == "resolved" else " "
            value = r.value if r.value is not None else ("-" if r.raw is None else repr(r.raw))
            extra = f" ({r.problem})" if r.problem else ""
            sys.stderr.write(f"{mark} {r.source:<8} {value:<24} {r.state:<14} {r.origin or ''}{extra}\n")
        sys.stderr.write(summary_line(res) + "\n")
    code, problem = exit_code(res)
    if json_out:
        obj = resolution_to_dict(res)
        obj["exit_code"] = int(code)
        print_json(obj)
    elif problem is None:
        assert res.resolved_scope is not None  # no problem: a scope resolved
        sys.stdout.write(res.resolved_scope + "\n")
    if problem is not None:
        err("error", problem)
    elif not explain:
        _warn_soft(res)
    return int(code)


def exit_code(res: Resolution) -> tuple[ExitCode, str | None]:
    """resolve's exit code and, when it fails, the one-line reason.

    The rule itself is `ctxscope.gate.scope_failure`, shared with `require_scope()`
    and the MCP server, so every entry point refuses the same scopes.
    """
    from ..gate import scope_failure

    failure = scope_failure(res)
    if failure is None:
        return ExitCode.OK, None
    return failure.exit_code, error_line(failure)


def _warn_soft(res: Resolution) -> None:
    """Print the scope, but say on stderr what is not right about it."""
    from ..gate import soft_warnings

    for warning in soft_warnings(res):
        err("warning", warning)
