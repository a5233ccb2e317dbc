"""Reconciliation: plan the writes as plain data, then apply them and read them back.

    resolve ──> plan ──> authorize ──> (confirm) ──> apply ──> read back ──> event

`plan()` only reads: it returns a `Plan` whose `changes` say, for each source,
which file or URL would be written and the value before and after, and marks the
ones the rollout mode does not allow as `blocked`. `apply()` writes the others,
reads each back (a fresh parse; a GET past the cache) and appends one event per
write. Nothing here prints, prompts or exits: `ctxscope.commands.sync`,
`ctxscope.commands.repair` and `ctxscope.commands.init` do that (through
`ctxscope.commands._writes`), and agent runtimes can call this directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import (
    CloudError,
    ConfigError,
    CtxScopeError,
    InvalidScopeError,
    UnauthorizedError,
    UsageError,
)
from .kinds import SHELLS, WRITTEN_SOURCES, Direction, Shell
from .report import default_target, only_unset
from .scope import display, loggable, scope_problem
from .sources.cloud import CloudSource
from .sources.local import LocalSource, target_file

if TYPE_CHECKING:
    from .resolver import Resolution

__all__ = ["WRITTEN_SOURCES", "Direction", "Shell", "default_target", "only_unset"]

EVENTS = {"sync": "scope_synced", "repair": "scope_repaired", "init": "scope_synced"}
FAILED_EVENT = "scope_sync_failed"


# One planned change. `action` is one of:
#   create          a new local file holding only the scope
#   write           set `scope` in an existing local file, in place
#   replace_broken  back up a local file that cannot be parsed, then write a new one
#   put             PUT the cloud default (extra["revision"] is the If-Match revision)
#   clear           drop the cached cloud default
#   shell           the runtime env: shell code for the user to eval (extra["export"],
#                   extra["unset"]); a child process cannot change its parent's env
# `before`/`after` are the values as the log records them (strings or None).
# `blocked` is None, or why the rollout mode does not allow this write.
class Change(NamedTuple):
    source: str  # local, cloud, cache or runtime
    target: str
    before: str | None
    after: str | None
    action: str
    blocked: str | None = None
    extra: Mapping[str, Any] = MappingProxyType({})


class Outcome(NamedTuple):
    change: Change
    status: str  # written, unchanged, cleared or failed
    verified: bool
    before: object  # the value the write replaced (`Written.before`)
    backup: str | None


class Applied(NamedTuple):
    outcomes: list[Outcome]
    error: CtxScopeError | None
    warnings: list[str]


class Plan(NamedTuple):
    """What a `sync`, `repair` or `init` run would do. Plain data; `apply` carries it out.

    `origin` says where the target scope came from when the command chose it (`init`).
    """

    command: str
    direction: str | None
    scope: str | None
    changes: tuple[Change, ...]
    resolution: Resolution
    origin: str | None = None

    @property
    def writes(self) -> list[Change]:
        """The file and cloud writes the mode allows: what needs confirmation."""
        return [c for c in self.changes if c.source in WRITTEN_SOURCES and not c.blocked]

    @property
    def blocked(self) -> list[Change]:
        return [c for c in self.changes if c.blocked]

    @property
    def runtime(self) -> Change | None:
        return next((c for c in self.changes if c.source == "runtime"), None)

    def exit_code(self, *, shell: bool) -> int:
        """How the run ends if every allowed write succeeds (the shared exit codes).

        1 when the mode refused a write that was needed; 3 when the runtime env
        still differs and no shell code was asked for; else 0.
        """
        if self.blocked:
            return 1
        if self.runtime is not None and not shell:
            return 3
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "direction": self.direction,
            "scope": self.scope,
            "mode": self.resolution.mode,
            "changes": [change_to_dict(c) for c in self.changes],
        }


def change_to_dict(c: Change) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source": c.source,
        "target": c.target,
        "before": c.before,
        "after": c.after,
        "action": c.action,
        "blocked": c.blocked,
    }
    if c.source == "local" and c.extra.get("real"):
        out["real_target"] = c.extra["real"]
    if c.source == "runtime":
        out["export"] = c.extra.get("export")
        out["unset"] = list(c.extra.get("unset", ()))
    return out


# Planning


def plan(
    ctx,
    res,
    *,
    command: str,
    direction: Direction | str | None = None,
    to: str | None = None,
    force: bool = False,
) -> Plan:
    """The changes `sync` (with `direction`), `repair` or `init` (with `to`) would make.

    `force`: a read-only local file may be replaced (`--force`); without it the
    plan refuses it, as it refuses a local file whose real path is not where its
    kind of file may live (`sources.local.write_place`).
    """
    if command == "sync":
        if direction is None:
            raise UsageError("sync needs a direction: " + " or ".join(d.value for d in Direction))
        return plan_sync(ctx, res, Direction(direction), force=force)
    if command == "repair":
        return plan_repair(ctx, res, to=to, force=force)
    if command == "init":
        return plan_init(ctx, res, to=to, force=force)
    raise ValueError(f"unknown command {command!r}")


def plan_sync(ctx, res, direction: Direction, *, force: bool = False) -> Plan:
    """`sync --direction runtime-to-local` or `resolved-to-cloud`: at most one change."""
    direction = Direction(direction)
    if direction is Direction.RUNTIME_TO_LOCAL:
        runtime = res.source("runtime")
        if runtime.state == "invalid":
            raise InvalidScopeError(runtime.error.message, hint="fix or unset it; nothing to sync from")
        if runtime.value is None:
            raise CtxScopeError(
                "the runtime scope is unset, so there is nothing to sync from",
                hint="set CTX_SCOPE or pass --scope SCOPE",
            )
        scope = runtime.value
        change = _local_change(ctx, res, scope, replace_broken=False, force=force)
    else:
        if ctx.cloud is None:
            raise ConfigError(
                "no cloud is configured, so there is nothing to sync to",
                hint="set [cloud] url in the user config, or CTXSCOPE_CLOUD_URL",
            )
        failure = res.error or (res.scope_error() if res.resolved_scope is None else None)
        if failure is not None:
            raise failure
        scope = res.resolved_scope
        change = _cloud_change(ctx, res, scope)
    changes = (change,) if change else ()
    return Plan("sync", direction.value, scope, changes, res)


def plan_repair(ctx, res, *, to: str | None = None, force: bool = False) -> Plan:
    """`repair`: bring the local file, the cloud, its cache and the runtime env to one scope.

    Without `--to` and with nothing but an invalid runtime value in the way (see
    `only_unset`), the plan is shell code that unsets the invalid variables: its
    `scope` is None.
    """
    scope = to if to is not None else default_target(res)
    if scope is None and to is None and only_unset(res):
        return Plan("repair", None, None, (_unset_invalid_runtime(ctx),), res)
    if scope is None:
        why = res.error.message if res.error else "no source sets a scope"
        raise UsageError(
            f"there is no resolved scope to repair to ({why})",
            hint="name the target: ctxscope repair --to SCOPE",
        )
    problem = scope_problem(scope)
    if problem:
        raise UsageError(f"flag --to {display(scope)!r} {problem}", hint="change the --to value")
    cloud = _cloud_change(ctx, res, scope, skip_unset=True) if ctx.cloud is not None else None
    local = _local_change(ctx, res, scope, replace_broken=True, force=force, create=False)
    # When the sources below the runtime give the target once this repair is done, the
    # runtime override is dropped (unset), not pinned to the same value: a pinned copy
    # would be the next stale override the day the project file changes.
    drop = _below_runtime(res, scope, local, cloud) == scope
    runtime = _runtime_change(ctx, res, scope, drop=drop)
    if local is None:
        # An unset local scope is not drift: it is written only when, after this repair,
        # nothing else would make `scope` resolve (so a repair that only has to unset a
        # shell variable does not create a project file).
        local = _local_change(
            ctx,
            res,
            scope,
            replace_broken=True,
            force=force,
            create=_projected(ctx, res, scope, cloud) != scope,
        )
    changes = [c for c in (local, cloud) if c]
    if cloud is not None and not cloud.blocked:
        cache = ctx.cloud.cache
        cached = cache.get("scope")
        before = cached[0].get("scope") if cached and isinstance(cached[0], dict) else None
        changes.append(Change("cache", cache.path, loggable(before), None, "clear", None, {}))
    if runtime:
        changes.append(runtime)
    return Plan("repair", None, scope, tuple(changes), res)


def plan_init(ctx, res, *, to: str | None = None, force: bool = False) -> Plan:
    """`init`: set this repository's local scope to `to`, at most one change.

    The file is `target_file(ctx, repository=True)`: the project file when it lies
    inside the repository, else a new `.ctxscope.toml` at the repository root. The
    scope is `to`, else the one that file holds, else the one that resolves now
    (not a [fallback] guess).
    """
    path = target_file(ctx, repository=True)
    if to is not None:
        from .resolver import check_flag_scope

        check_flag_scope(to)
    scope, origin = _init_target(res, to, path)
    problem = scope_problem(scope)
    if problem:
        raise InvalidScopeError(f"scope {display(scope)!r} {problem}")
    change = _local_change(ctx, res, scope, replace_broken=False, path=path, force=force)
    return Plan("init", "init", scope, (change,) if change else (), res, origin)


def _init_target(res, to: str | None, path: str) -> tuple[str, str]:
    if to is not None:
        return to, "--scope"
    local = res.source("local")
    if local.extra.get("path") == path and local.value is not None:
        return local.value, local.origin
    if res.resolved_scope is not None and res.resolved_from != "fallback":
        origin = res.source(res.resolved_from).origin
        return res.resolved_scope, f"{res.resolved_from} ({origin})"
    raise UsageError("no scope to link: name one", hint="ctxscope init --scope NAME")


def _projected(ctx, res, scope: str, cloud: Change | None) -> str | None:
    """What resolves without the local source once the other planned changes are made."""
    values = [ctx.env[n] for n in ctx.config["runtime.env"] if ctx.env.get(n)]
    first = ctx.config["runtime.env"][0]
    if ctx.env.get(first) or scope in values:
        return scope  # the shell code exports it, or a variable already holds it
    if cloud is not None and not cloud.blocked:
        return scope
    r = res.source("cloud")
    if r.value is not None or r.state in ("invalid", "error"):
        return r.value
    return res.source("fallback").value


def _below_runtime(res, scope: str, local: Change | None, cloud: Change | None) -> str | None:
    """What resolves once the runtime variables are unset and the planned writes are made."""
    if local is not None and not local.blocked:
        return scope
    r = res.source("local")
    if r.value is not None or r.state in ("invalid", "unreadable"):
        return r.value
    if cloud is not None and not cloud.blocked:
        return scope
    r = res.source("cloud")
    if r.value is not None or r.state in ("invalid", "error"):
        return r.value
    fallback = res.source("fallback")
    return fallback.value if fallback.state in ("set", "resolved", "standby") else None


def mode_refusal(config, source: str) -> str | None:
    """Why `[policy] mode` does not allow writing `source`, naming where it is set; or None."""
    mode = config.mode
    where = config.origin("policy.mode")
    where = "the default" if where == "default" else f"set at {where}"
    if mode == "observe":
        return (
            f"[policy] mode is 'observe' ({where}): ctxscope writes nothing in this mode; "
            'set [policy] mode = "local" to allow local writes, or "cloud" for both'
        )
    if source == "cloud" and mode == "local":
        return (
            f'[policy] mode is \'local\' ({where}): cloud writes need [policy] mode = "cloud" (or "enforce")'
        )
    return None


def _local_change(
    ctx,
    res,
    scope: str,
    *,
    replace_broken: bool,
    create: bool = True,
    path: str | None = None,
    force: bool = False,
) -> Change | None:
    r = res.source("local")
    path = path or target_file(ctx)
    blocked = mode_refusal(ctx.config, "local")
    holds = r.extra.get("path") == path
    if holds and r.state == "unreadable":
        if not replace_broken:
            raise ConfigError(
                f"{r.problem}; not writing into a file that cannot be parsed",
                hint=f"fix it, or run `ctxscope repair --to {scope}`, which backs it up first",
            )
        return Change(
            "local",
            path,
            None,
            scope,
            "replace_broken",
            blocked,
            {**_write_extra(ctx, path, force, blocked), "problem": r.problem},
        )
    before = (r.value if r.value is not None else r.raw) if holds else None
    if before == scope or (before is None and not create):
        return None
    import os

    action = "write" if os.path.lexists(path) else "create"
    return Change(
        "local", path, loggable(before), scope, action, blocked, _write_extra(ctx, path, force, blocked)
    )


def _write_extra(ctx, path: str, force: bool, blocked: str | None) -> dict:
    """`force`, and the real path the write would land on, checked before any plan is shown:
    a target outside where its kind of file may live (or read-only, without `force`)
    raises UnsafeWriteError here, so nothing is planned, asked or written."""
    if blocked:
        return {"force": force}
    from .fsutil import check_write_target
    from .sources.local import write_place

    return {"force": force, "real": check_write_target(path, write_place(ctx, path, force=force))}


def _cloud_change(ctx, res, scope: str, *, skip_unset: bool = False):
    r = res.source("cloud")
    if r.state == "error" and r.extra.get("unreachable"):
        raise r.error
    revision = r.extra.get("revision")
    if r.state == "error" or revision is None:
        # The default holds a value outside the rules (or was not read fresh): read it
        # as it is, since the PUT needs the revision just read.
        before, revision = CloudSource().read_fresh(ctx)
    else:
        before = r.value if r.value is not None else r.raw
    if before == scope:
        return None
    if before is None and skip_unset:
        return None  # an unset cloud default is not drift
    blocked = mode_refusal(ctx.config, "cloud")
    return Change(
        "cloud", ctx.cloud.scope_origin, loggable(before), scope, "put", blocked, {"revision": revision}
    )


def _runtime_change(ctx, res, scope: str, *, drop: bool = False) -> Change | None:
    """Shell code for the variables that differ from `scope`: with `drop` (the sources
    below give `scope`), every one of them is unset; else the first is exported."""
    names = list(ctx.config["runtime.env"])
    values = {n: ctx.env[n] for n in names if ctx.env.get(n)}
    differ = [n for n, v in values.items() if v != scope]
    if not differ:
        return None
    if drop:  # unset every differing name; the source below then gives `scope`
        target, shell = None, {"export": None, "unset": differ, "drop": scope}
    else:  # export the first name, unset the others that differ
        export = names[0] if names[0] in differ else None
        target, shell = scope, {"export": export, "unset": [n for n in differ if n != names[0]]}
    return Change(
        "runtime", "env " + ", ".join(differ), loggable(values[differ[0]]), target, "shell", None, shell
    )


def _unset_invalid_runtime(ctx) -> Change:
    names = [n for n in ctx.config["runtime.env"] if ctx.env.get(n) and scope_problem(ctx.env[n])]
    return Change(
        "runtime",
        "env " + ", ".join(names),
        loggable(ctx.env[names[0]]),
        None,
        "shell",
        None,
        {"export": None, "unset": names},
    )


# Authorization


def authorize(plan: Plan, ctx) -> str:
    """Check the TARGET scope with the cloud before anything is written (the rules for every write).

    A local write (or shell code) needs the target visible to the token; a cloud
    write needs `access: write`. Returns the access ("read"/"write"), or
    "not_checked" without a cloud. Raises UnauthorizedError (exit 4) or a
    CloudError (exit 6: the check needs the cloud); the answer is asked fresh.
    """
    needed = [c for c in plan.changes if not c.blocked and c.source != "cache"]
    if not needed or ctx.cloud is None or plan.scope is None:
        return "not_checked"  # (no scope: the plan only unsets invalid variables)
    try:
        access = ctx.cloud.client.get_access(plan.scope)
    except CloudError as exc:
        raise type(exc)(
            f"{exc.message}; cannot check that the cloud can see {plan.scope!r}, so nothing was written",
            hint=exc.hint or "retry when the cloud answers",
        ) from None
    if access is None:
        raise UnauthorizedError(
            f"scope {plan.scope!r} is not visible to {ctx.cloud.principal} "
            f"({ctx.cloud.access_origin(plan.scope)} refused it); nothing was written",
            hint="choose a scope the token can see, or ask for access",
        )
    if access not in ("write", "not_enforced") and any(c.source == "cloud" for c in needed):
        raise UnauthorizedError(
            f"{ctx.cloud.principal} has only {access} access to {plan.scope!r}; changing the cloud "
            "default needs write access; nothing was written",
            hint="ask for write access to that scope",
        )
    return access


# Applying


def apply(plan: Plan, ctx) -> Applied:
    """Write every allowed change in order, read each back, log each write.

    Stops at the first failure: that change is logged as `scope_sync_failed` and
    returned as `error` (the changes before it stay written and logged).
    Blocked changes and the runtime env (shell code) are not applied here.
    """
    outcomes: list[Outcome] = []
    warnings: list[str] = []
    for change in plan.changes:
        if change.blocked or change.source == "runtime":
            continue
        if change.source == "cache":
            ctx.cloud.cache.drop("scope")
            outcomes.append(Outcome(change, "cleared", True, change.before, None))
            continue
        assert change.after is not None  # a file or cloud write always writes a scope
        try:
            if change.source == "local":
                written = LocalSource().write(
                    ctx,
                    change.after,
                    path=change.target,
                    replace_broken=change.action == "replace_broken",
                    force=bool(change.extra.get("force")),
                )
            else:
                written = CloudSource().write(
                    ctx, change.after, revision=change.extra["revision"], before=change.before
                )
        except CtxScopeError as exc:
            _log(
                plan,
                ctx,
                change,
                FAILED_EVENT,
                warnings,
                before=change.before,
                verified=False,
                error=exc.message,
            )
            outcomes.append(Outcome(change, "failed", False, change.before, None))
            return Applied(outcomes, exc, warnings)
        if not written.changed:
            outcomes.append(Outcome(change, "unchanged", True, written.before, None))
            continue
        _log(
            plan,
            ctx,
            change,
            EVENTS[plan.command],
            warnings,
            before=written.before,
            verified=written.verified,
            backup=written.backup,
        )
        outcomes.append(Outcome(change, "written", written.verified, written.before, written.backup))
    return Applied(outcomes, None, warnings)


def _log(plan, ctx, change, name, warnings, *, before, verified, error=None, backup=None):
    from .events import append, base_event

    event = base_event(name, plan.resolution, plan.command)
    event["direction"] = plan.direction or f"target-to-{change.source}"
    event["target"] = change.target
    event["before"] = before
    event["after"] = change.after
    event["verified"] = verified
    if error is not None:
        event["error"] = error
    if backup is not None:
        event["backup"] = backup
    warning = append(event, ctx.config)
    if warning:
        warnings.append(warning)


def unfinished(plan: Plan, *, shell: bool, env) -> list[dict]:
    """The sources that still differ from the target after the run, and why.

    A write the mode refused; the runtime env when no shell code was asked for
    (a child process cannot change the shell that started it), with the exact
    command that finishes the job.
    """
    items = [
        {
            "source": c.source,
            "target": c.target,
            "value": c.before,
            "wanted": c.after,
            "reason": c.blocked,
            "fix": None,
        }
        for c in plan.blocked
    ]
    runtime = plan.runtime
    if runtime is not None and not shell:
        items.append(
            {
                "source": "runtime",
                "target": runtime.target,
                "value": runtime.before,
                "wanted": runtime.after,
                "reason": "a child process cannot change the environment of the shell that started it",
                "fix": finish_command(plan.scope, guess_shell(env)),
            }
        )
    return items


# The runtime env: code for the user's shell


def shell_code(change: Change | None, shell: Shell | str) -> str:
    """The lines that bring the parent shell's env to the target, for `eval` / `source`."""
    if change is None:
        return ""
    shell = Shell(shell)
    lines = []
    export = change.extra.get("export")
    if export:
        assert change.after is not None  # only a change to a scope exports one
        if shell is Shell.FISH:
            lines.append(f"set -gx {export} {_fish_quote(change.after)}")
        else:
            lines.append(f"export {export}={_sh_quote(change.after)}")
    for name in change.extra.get("unset", ()):
        lines.append(f"set -e {name}" if shell is Shell.FISH else f"unset {name}")
    return "".join(line + "\n" for line in lines)


def finish_command(scope: str | None, shell: Shell | str) -> str:
    """The exact command that applies `repair`'s runtime change in the user's shell
    (no `--to` for a plan that only unsets invalid variables: `scope` None)."""
    import shlex

    shell = Shell(shell)
    to = "" if scope is None else f"--to {shlex.quote(scope)} "
    base = f"ctxscope repair {to}--shell {shell.value}"
    return f"{base} | source" if shell is Shell.FISH else f'eval "$({base})"'


def guess_shell(env) -> Shell:
    """The user's shell from $SHELL, for the finishing hint; bash when unknown."""
    import os

    name = os.path.basename(env.get("SHELL", ""))
    return Shell(name) if name in SHELLS else Shell.BASH


def _sh_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
