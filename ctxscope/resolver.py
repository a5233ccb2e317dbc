"""The one resolver: read every source, pick the first set one, authorize, compare.

    runtime ─┐
    local   ─┼─> resolve ──> authorize ──> drift ──> event
    cloud   ─┤
    fallback┘

`resolve()` never prints and never exits; it returns an immutable `Resolution`
that the CLI renders and agent runtimes inspect. Only problems that stop every
command (a secret in a config file, a setting of the wrong type, an unsafe cloud
URL) raise; everything a source can get wrong is reported on the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .context import Context
from .errors import CtxScopeError, ExitCode, UnauthorizedError, UnresolvedError
from .kinds import ACTIONS, PRECEDENCE, STATE_EXIT, Problem
from .sources import Reading
from .sources.cloud import CloudSource
from .sources.fallback import FallbackSource
from .sources.local import LocalSource
from .sources.runtime import RuntimeSource

if TYPE_CHECKING:
    from . import config as config_mod
    from .observe import Observation

SOURCES = (RuntimeSource(), LocalSource(), CloudSource(), FallbackSource())


class Resolution(NamedTuple):
    """The outcome of one resolution. Immutable; render it, don't change it.

    - `sources`: one Reading per source in precedence order, with the final state
      (resolved, in_sync, drifted, unset, invalid, unreadable, error, not_configured,
      standby).
    - `resolved_scope` / `resolved_from`: the winner, or None.
    - `authorization`: "authorized", "denied", "not_checked", "unknown", or
      "not_enforced" (the store answers, but does not enforce permissions: etcd
      with authentication off).
    - `problems`: every drift or fault found, as Problem(reason, action, source, detail).
    - `state`: INVALID, UNRESOLVED, UNAUTHORIZED, DEGRADED, DRIFTED or SYNCED.
    - `error`: the CtxScopeError that stopped resolution, if any.
    - `observed`: other tools' project ids (`ctxscope.observe.Observation`), compared
      with the resolved scope but never used to resolve it; empty without `[observe]`.
    """

    sources: tuple[Reading, ...]
    resolved_scope: str | None
    resolved_from: str | None
    authorization: str
    problems: tuple[Problem, ...]
    state: str
    error: CtxScopeError | None
    warnings: tuple[str, ...]
    config: config_mod.Config
    cwd: str
    observed: tuple[Observation, ...] = ()

    @property
    def authorized(self) -> bool | None:
        return {"authorized": True, "denied": False}.get(self.authorization)

    @property
    def reasons(self) -> list[str]:
        return _unique(p.reason for p in self.problems)

    @property
    def actions(self) -> list[str]:
        return _unique(p.action for p in self.problems)

    @property
    def mode(self) -> str:
        return self.config.mode

    def source(self, name: str) -> Reading:
        return self.sources[PRECEDENCE.index(name)]

    @property
    def drifted(self) -> bool:
        return is_drift(self.problems)

    @property
    def check_exit_code(self) -> ExitCode:
        """The exit code of `status --check`: the state's code."""
        return STATE_EXIT[self.state]

    def scope_error(self) -> CtxScopeError | None:
        """Why there is no usable scope (for `resolve`), or None when there is one."""
        if self.error is not None:
            return self.error
        if self.resolved_scope is None:
            return UnresolvedError(
                "no source sets a scope and [fallback] policy is 'fail'",
                hint='set one: export CTX_SCOPE=NAME, or add scope = "NAME" to .ctxscope.toml',
            )
        if self.authorization == "denied":
            return UnauthorizedError(
                f"scope {self.resolved_scope!r} (from {self.resolved_from}) is not visible to the token",
                hint="ask for access, or choose another scope: ctxscope repair --to SCOPE",
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        from .report import resolution_to_dict

        return resolution_to_dict(self)


def is_drift(problems: Iterable[Problem]) -> bool:
    """Drift is a set source that differs from the resolved scope, or an invalid value."""
    return any(p.reason.endswith(("_mismatch", "_invalid")) for p in problems)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def resolve(
    *,
    scope: str | None = None,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    offline: bool = False,
    refresh: bool = False,
    command: str = "api",
    log: bool = True,
    context: Context | None = None,
) -> Resolution:
    """Resolve the scope for `cwd` (default: the working directory).

    `scope` is the `--scope` flag; `env` defaults to os.environ. With `log`, a
    drift, unauthorized or unresolved outcome is appended to the drift log
    (de-duplicated). Raises ConfigError only for config that stops everything.
    """
    ctx = context or Context(cwd=cwd, env=env, scope=scope, offline=offline, refresh=refresh, command=command)
    if ctx.flag_scope is not None:
        check_flag_scope(ctx.flag_scope)
    try:
        result = _resolve(ctx)
        if _observing(ctx.config):
            from .observe import apply

            result = apply(result, ctx)
    finally:
        if context is None:
            ctx.close()
    if log:
        from .events import record_resolution

        warning = record_resolution(result, ctx)
        if warning:
            result = result._replace(warnings=(*result.warnings, warning))
    return result


def check_flag_scope(value: str, flag: str = "--scope") -> None:
    """A scope given on the command line that breaks the rules is a usage error (exit 2):
    the fix is to change the flag, not any source."""
    from .errors import UsageError
    from .scope import display, scope_problem

    problem = scope_problem(value)
    if problem:
        raise UsageError(
            f"flag {flag} {display(value)!r} {problem}", hint=f"change the {flag} value (or leave {flag} out)"
        )


def _observing(config: config_mod.Config) -> bool:
    """Any `[observe]` in an honoured file? Checked here so that without one observe.py is
    never imported."""
    return any(cf is not None and cf.trusted and "observe" in cf.data for cf in (config.user, config.project))


def _resolve(ctx: Context) -> Resolution:
    runtime, local, cloud, fallback = SOURCES
    readings = [runtime.read(ctx), local.read(ctx), cloud.read(ctx)]

    winner: Reading | None = None
    blocker: Reading | None = None
    for r in readings:
        if r.usable:
            winner = r
            break
        if r.blocking:
            blocker = r
            break
    reached_fallback = winner is None and blocker is None
    fb = fallback.read(ctx, network=reached_fallback)
    readings.append(fb)
    if reached_fallback:
        if fb.usable:
            winner = fb
        elif fb.blocking:
            blocker = fb

    resolved = winner.value if winner else None
    authorization = _authorize(ctx, resolved)
    problems = _problems(readings, winner, blocker, authorization, resolved)
    state = _state(readings, blocker, resolved, authorization, problems)
    rows = tuple(_final_state(r, winner, blocker, reached_fallback) for r in readings)
    return Resolution(
        sources=rows,
        resolved_scope=resolved,
        resolved_from=winner.source if winner else None,
        authorization=authorization,
        problems=tuple(problems),
        state=state,
        error=blocker.error if blocker else None,
        warnings=tuple(ctx.config.warnings),
        config=ctx.config,
        cwd=ctx.cwd,
    )


def _authorize(ctx: Context, resolved: str | None) -> str:
    """Convergence is not permission: ask the cloud whether the token can see the scope."""
    # `ctx.cloud`, not the `cloud.url` setting: an empty `url = ""` configures no cloud either.
    cloud = ctx.cloud if resolved is not None else None
    if resolved is None or cloud is None:
        return "not_checked"
    from .errors import CloudError

    try:
        access, _age = cloud.access(resolved)
    except CloudError:
        return "unknown"
    if access == "not_enforced":
        return "not_enforced"
    return "denied" if access is None else "authorized"


def _problems(
    readings: list[Reading],
    winner: Reading | None,
    blocker: Reading | None,
    authorization: str,
    resolved: str | None,
) -> list[Problem]:
    problems: list[Problem] = []
    runtime = readings[0]
    env_values = runtime.extra.get("env_values", {})
    if len(set(env_values.values())) > 1:
        shown = ", ".join(f"{k}={v!r}" for k, v in env_values.items())
        problems.append(
            Problem("runtime_mismatch", "repair", "runtime", f"configured variables disagree: {shown}")
        )
    for r in readings:
        if r.state in ("invalid", "unreadable"):
            problems.append(Problem(f"{r.source}_invalid", "repair", r.source, r.problem))
        elif r.state == "error":
            reason = "cloud_unreachable" if r.extra.get("unreachable") else "cloud_error"
            problems.append(Problem(reason, ACTIONS[reason], r.source, r.problem))
        elif r.state == "ignored":
            # Not drift (nothing disagrees), but never a silent SYNCED either.
            problems.append(Problem("config_changed", "trust", r.source, r.problem))
        elif (
            r.usable
            and r is not winner
            and resolved is not None
            and r.source in ("local", "cloud")
            and r.value != resolved
        ):
            reason = f"{r.source}_mismatch"
            problems.append(
                Problem(
                    reason, ACTIONS[reason], r.source, f"{r.value!r} differs from the resolved {resolved!r}"
                )
            )
    if blocker is None and resolved is None:
        problems.append(
            Problem(
                "scope_unresolved",
                "set_scope",
                "fallback",
                "no source is set and the fallback policy is 'fail'",
            )
        )
    if authorization == "denied":
        problems.append(
            Problem(
                "scope_unauthorized",
                "request_access",
                winner.source if winner else None,
                f"the token cannot see {resolved!r}",
            )
        )
    return problems


def _state(
    readings: list[Reading],
    blocker: Reading | None,
    resolved: str | None,
    authorization: str,
    problems: list[Problem],
) -> str:
    if blocker is not None and blocker.state in ("invalid", "unreadable"):
        return "INVALID"
    if blocker is None and resolved is None:
        return "UNRESOLVED"
    if authorization == "denied":
        return "UNAUTHORIZED"
    if any(r.state == "error" for r in readings):
        return "DEGRADED"
    if is_drift(problems):
        return "DRIFTED"
    return "SYNCED"


def _final_state(
    r: Reading, winner: Reading | None, blocker: Reading | None, reached_fallback: bool
) -> Reading:
    if r is winner:
        return r._replace(state="resolved")
    if r.source == "fallback" and not reached_fallback and r.state in ("set", "unset"):
        return r._replace(state="standby")
    if r.usable:
        if winner is None:
            return r  # resolution stopped above it: shown as set, not compared
        state = "in_sync" if r.value == winner.value else "drifted"
        return r._replace(state=state)
    return r
