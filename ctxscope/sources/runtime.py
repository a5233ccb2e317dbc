"""Runtime source: `--scope`, else the first set variable of `[runtime] env`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidScopeError
from ..scope import display, scope_problem
from . import Reading, reading

if TYPE_CHECKING:
    from ..context import Context

NAME = "runtime"


class RuntimeSource:
    name = NAME

    def read(self, ctx: Context) -> Reading:
        names = ctx.config["runtime.env"]
        # Every configured name that is set, so disagreement between them is visible.
        env_values = {n: ctx.env[n] for n in names if ctx.env.get(n)}
        if ctx.flag_scope is not None:
            return _check(ctx.flag_scope, "flag --scope", env_values)
        for name in names:
            if name in env_values:
                return _check(env_values[name], f"env {name}", env_values)
        return reading(NAME, origin="env " + " / ".join(names), env_values=env_values)


def _check(value: str, origin: str, env_values: dict[str, str]) -> Reading:
    problem = scope_problem(value)
    if problem:
        error = InvalidScopeError(
            f"runtime scope from {origin} ({display(value)!r}) {problem}",
            hint='fix or unset it: eval "$(ctxscope repair --shell bash)"',
        )
        return reading(NAME, None, origin, "invalid", problem, raw=value, error=error, env_values=env_values)
    return reading(NAME, value, origin, "set", env_values=env_values)
