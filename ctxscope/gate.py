"""The scope gate: resolve, authorize, and return the scope or raise, before scoped work.

    >>> import ctxscope
    >>> scope = ctxscope.require_scope()        # raises a ScopeError subclass instead
    >>> memory.write(scope, note)

The one rule for "may this process act in a scope now?" lives here, so the CLI's
`resolve`, agent code and the MCP server's `scope_resolve` cannot disagree:
`scope_failure(res)` says what stops a Resolution from being used, as a typed
error whose exit code is `resolve`'s (the same rule serves the CLI, the gate and MCP).

The gate goes through `ctxscope.resolver.resolve`, so it writes the same drift
events as the CLI. With a fresh cached cloud answer it does no network I/O and
imports nothing heavy (no httpx, no typer, no rich).
"""

from __future__ import annotations

from .errors import (
    CloudError,
    CtxScopeError,
    DriftError,
    InvalidScopeError,
    UnauthorizedError,
    UnresolvedError,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .resolver import Resolution


class ScopeError(CtxScopeError):
    """The gate refused: there is no scope this process may use now.

    `resolution` is the full Resolution (sources, origins, problems) and `reason`
    a short machine-readable word for why. The exit code is the one `ctxscope
    resolve` exits with in the same situation. Every subclass is also a subclass
    of the matching ctxscope.errors class, so `except UnauthorizedError` works too.
    """

    def __init__(
        self, message: str, *, hint: str | None = None, reason: str, resolution: Resolution | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason
        self.resolution = resolution

    def to_dict(self) -> dict[str, Any]:
        """The structured error (used by the MCP server): no traceback, no secrets."""
        return {
            "reason": self.reason,
            "message": self.message,
            "hint": self.hint,
            "exit_code": int(self.exit_code),
        }


class ScopeInvalid(ScopeError, InvalidScopeError):
    """Exit 1: the source resolution stopped at holds an invalid value or an unreadable file."""


class ScopeDrifted(ScopeError, DriftError):
    """Exit 3: the sources disagree and `[policy] mode` is "enforce"."""


class ScopeUnauthorized(ScopeError, UnauthorizedError):
    """Exit 4: the token cannot see the resolved scope (or, in enforce mode, no cloud to ask)."""


class ScopeUnresolved(ScopeError, UnresolvedError):
    """Exit 5: no source sets a scope and the fallback policy is "fail"."""


class ScopeCloudError(ScopeError, CloudError):
    """Exit 6: the cloud was needed (to resolve, or to authorize in enforce mode) and failed."""


def scope_failure(res: Resolution) -> ScopeError | None:
    """Why `res` gives no usable scope, as a typed error; None when the scope may be used.

    The single source of `resolve`'s exit code: 1 invalid, 4 unauthorized,
    5 unresolved, 6 cloud needed and failing; in enforce mode also 3 on drift,
    4 when authorization is not checked (no cloud) and 6 when it is unknown.
    """
    failure = res.scope_error()
    if failure is not None:
        return _typed(failure, res)
    if res.mode == "enforce":
        if res.drifted:
            from .report import fix_command

            return ScopeDrifted(
                f"enforce mode: drift ({', '.join(res.reasons)})",
                hint=f"fix: {fix_command(res)}",
                reason="drift",
                resolution=res,
            )
        if res.authorization == "not_enforced":
            return ScopeUnauthorized(
                "enforce mode: authorization not enforced by the store (etcd authentication is off)",
                hint="enable authentication in etcd (etcdctl auth enable), or set "
                "[policy] mode to 'cloud' to allow unenforced scopes",
                reason="authorization_not_checked",
                resolution=res,
            )
        if res.authorization == "not_checked":
            return ScopeUnauthorized(
                "enforce mode: authorization not checked because no cloud is configured ([cloud] url)",
                hint="configure [cloud] url, or set [policy] mode to 'cloud' to allow unchecked scopes",
                reason="authorization_not_checked",
                resolution=res,
            )
        if res.authorization == "unknown":
            return ScopeCloudError(
                "enforce mode: authorization unknown: the cloud is unreachable",
                hint="check the network and [cloud] url, then retry",
                reason="authorization_unknown",
                resolution=res,
            )
    return None


def soft_warnings(res: Resolution) -> list[str]:
    """What is not right about a scope that may still be used (resolve's stderr warnings)."""
    found = []
    if res.resolved_scope is not None and res.authorization == "unknown":
        found.append(
            f"authorization of {res.resolved_scope!r} unknown: the cloud could not "
            "be asked and no fresh answer is cached"
        )
    if res.drifted:
        found.append(f"drift: {', '.join(res.reasons)} (run `ctxscope status`)")
    return found


def _typed(failure: CtxScopeError, res: Resolution) -> ScopeError:
    """The Resolution's own error, re-raised as the gate's class with the same code and text."""
    cls: type[ScopeError]
    if isinstance(failure, UnauthorizedError):
        cls, reason = ScopeUnauthorized, "scope_unauthorized"
    elif isinstance(failure, UnresolvedError):
        cls, reason = ScopeUnresolved, "scope_unresolved"
    else:
        cls = ScopeCloudError if isinstance(failure, CloudError) else ScopeInvalid
        reason = _blocker_reason(res, failure)
    error = cls(failure.message, hint=failure.hint, reason=reason, resolution=res)
    error.__cause__ = failure
    return error


def _blocker_reason(res: Resolution, failure: CtxScopeError) -> str:
    """The problem reported for the source that stopped resolution, e.g. `local_invalid`."""
    source = next((r.source for r in res.sources if r.error is failure), None)
    for p in res.problems:
        if p.source == source and not p.reason.endswith("_mismatch"):
            return p.reason
    return "cloud_error" if isinstance(failure, CloudError) else "invalid"


def require_scope(
    *,
    scope: str | None = None,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    offline: bool = False,
    refresh: bool = False,
    command: str = "require_scope",
) -> str:
    """Resolve and authorize the scope for `cwd`; return it, or raise a ScopeError.

    Call it right before every scoped operation (a memory write, a retrieval):

        scope = ctxscope.require_scope()

    Arguments mean what they mean for `ctxscope resolve`: `scope` is `--scope`
    (beats CTX_SCOPE), `env` defaults to os.environ, `offline` uses a cached
    cloud answer of any age, `refresh` bypasses the cache. `command` names the
    caller in drift log events.

    Returns the scope exactly when `ctxscope resolve` would print it (exit 0).
    Raises, each with `.resolution`, `.reason` and `.exit_code`:
    ScopeInvalid (1), ScopeDrifted (3, enforce mode only), ScopeUnauthorized (4),
    ScopeUnresolved (5), ScopeCloudError (6). A config that stops every command
    (a token in a config file, a setting of the wrong type, an unsafe cloud URL)
    raises ConfigError (1) as it does for the CLI. Never prints.
    """
    from .resolver import resolve

    res = resolve(scope=scope, cwd=cwd, env=env, offline=offline, refresh=refresh, command=command)
    failure = scope_failure(res)
    if failure is not None:
        raise failure
    assert res.resolved_scope is not None  # scope_failure() is None only for a resolved scope
    return res.resolved_scope
