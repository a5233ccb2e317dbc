"""Fallback source: exactly one of `fail`, a fixed `project`, or an identity namespace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import CloudError, ConfigError, CtxScopeError, InvalidScopeError
from ..scope import display, normalise_identity, scope_problem
from . import Reading, reading

if TYPE_CHECKING:
    from ..context import Context

NAME = "fallback"


class FallbackSource:
    name = NAME

    def read(self, ctx: Context, *, network: bool = True) -> Reading:
        """Compute the fallback. With network=False a whoami that needs the cloud is skipped."""
        policy = ctx.config["fallback.policy"]
        origin = f"policy {policy}"
        if policy == "fail":
            return reading(NAME, origin=origin, policy=policy)
        if policy == "project":
            value = ctx.config["fallback.project"]
            where = ctx.config.origin("fallback.project")
            error: CtxScopeError
            if value is None:
                error = ConfigError(
                    f"{where}: [fallback] policy is 'project' but [fallback] project is not set"
                )
                return reading(
                    NAME, None, origin, "invalid", "no [fallback] project", error=error, policy=policy
                )
            problem = scope_problem(value)
            if problem:
                error = InvalidScopeError(f"{where}: [fallback] project {display(value)!r} {problem}")
                return reading(NAME, None, origin, "invalid", problem, raw=value, error=error, policy=policy)
            return reading(NAME, value, origin, "set", policy=policy)
        # identity
        identity = ctx.env.get("CTXSCOPE_IDENTITY")
        source = "env CTXSCOPE_IDENTITY"
        if not identity:
            if ctx.cloud is None:
                error = ConfigError(
                    "[fallback] policy is 'identity' but there is no identity: "
                    "set CTXSCOPE_IDENTITY or configure [cloud] url"
                )
                return reading(NAME, None, origin, "invalid", "no identity", error=error, policy=policy)
            if not network:
                return reading(NAME, origin=origin + " (whoami not asked)", state="unset", policy=policy)
            try:
                identity, _age = ctx.cloud.whoami()
            except CloudError as exc:
                return reading(NAME, None, origin, "error", exc.message, error=exc, policy=policy)
            source = "cloud whoami"
        value = normalise_identity(ctx.config["fallback.identity_prefix"], identity)
        if value is None:
            error = InvalidScopeError(f"identity from {source} gives no valid scope")
            return reading(
                NAME,
                None,
                origin,
                "invalid",
                "identity gives no valid scope",
                raw=identity,
                error=error,
                policy=policy,
            )
        return reading(NAME, value, f"{origin} ({source})", "set", policy=policy)
