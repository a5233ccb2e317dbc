"""Local source: `scope` in the nearest `.ctxscope.toml`, else in the user config."""

from __future__ import annotations

from ..errors import InvalidScopeError
from ..scope import display, scope_problem
from . import reading

NAME = "local"


class LocalSource:
    name = NAME

    def read(self, ctx):
        project, user = ctx.config.project, ctx.config.user
        for cf in (project, user):
            if cf is None:
                continue
            if cf.error:
                return reading(NAME, None, cf.path, "unreadable", cf.error.message,
                               error=cf.error, path=cf.path, file_kind=cf.kind)
            if "scope" in cf.data:
                return _check(cf, cf.data["scope"])
        origin = project.path if project else (user.path if user else None)
        return reading(NAME, origin=origin, path=origin,
                       file_kind=(project or user).kind if (project or user) else None)


def _check(cf, value):
    origin = cf.where("scope")
    problem = scope_problem(value)
    if problem:
        error = InvalidScopeError(
            f"{origin}: scope {display(value)!r} {problem}",
            hint=f"edit {cf.path}, or run `ctxscope repair --to SCOPE`",
        )
        return reading(NAME, None, origin, "invalid", problem, raw=value, error=error,
                       path=cf.path, file_kind=cf.kind)
    return reading(NAME, value, origin, "set", path=cf.path, file_kind=cf.kind)
