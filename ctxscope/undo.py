"""`ctxscope undo`: revert the last write ctxscope made, as the drift log records it.

Every write (`sync`, `repair`, `init`, `config set`/`unset`, and `undo` itself)
appends one event per file or cloud value it changed, with the value before and
after. The last write is the newest such event on this host, together with the
events the same process logged just before it (a `repair` can write the project
file and the cloud in one run). Undoing it is a write like any other: planned
first, refused when a target no longer holds what that write left there (someone
changed it since), checked against the rollout mode and the cloud's permissions,
confirmed, applied, read back and logged. So a second `undo` undoes the first.

Not undoable (refused with the reason): a write whose value before was not a
valid scope, a cloud default that was unset before (the cloud contract cannot
unset it), and the replacement of an unparseable file (its backup is named, to be
copied back by hand). The runtime environment is not a write ctxscope made: shell
code printed for `eval` is not in the log.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from .errors import ConfigError, CtxScopeError, UnauthorizedError
from .scope import scope_problem, shown

WRITE_EVENTS = ("scope_synced", "scope_repaired", "config_changed")
UNDO_COMMAND = "undo"


class Step(NamedTuple):
    """Bring `target` (`key` in it, or the cloud default) from `now` back to `restore`."""

    source: str  # "local" (the scope key of a file), "config" (another key), "cloud"
    target: str
    key: str
    now: object  # what the write left there, and so what the target must still hold
    restore: object  # the value before that write (None: remove the key)
    ts: str
    command: str
    blocked: str | None = None

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "target": self.target,
            "key": self.key,
            "before": self.now,
            "after": self.restore,
            "undoes": self.command,
            "written_at": self.ts,
            "blocked": self.blocked,
        }


class NothingToUndo(CtxScopeError):
    pass


def last_write(config) -> list[dict]:
    """The events of the newest write run on this host, oldest first; [] when none."""
    from .events import host_name
    from .logview import iter_events_reverse, log_files

    _path, files = log_files(config)
    host = host_name()
    run: list[dict] = []
    for _line, event in iter_events_reverse(files):
        if not isinstance(event, dict):
            continue
        if (
            event.get("event") not in WRITE_EVENTS
            or event.get("host") != host
            or event.get("verified") is not True
        ):
            if run:
                break
            continue
        if run and (event.get("pid"), event.get("command")) != (run[-1].get("pid"), run[-1].get("command")):
            break
        run.append(event)
    return list(reversed(run))


def plan(ctx, events: list[dict]) -> list[Step]:
    """The steps that undo `events`; raises when one of them cannot be undone."""
    from .reconcile import mode_refusal

    if not events:
        raise NothingToUndo(
            "the drift log holds no write by ctxscope on this host; nothing to undo",
            hint="writes are sync, repair, init and config set",
        )
    steps = []
    for event in reversed(events):  # undo the newest change first
        step = _step(event)
        if step.source in ("local", "cloud"):
            step = step._replace(blocked=mode_refusal(ctx.config, step.source))
        steps.append(step)
    return steps


def _step(event: dict) -> Step:
    target, before, after = event.get("target"), event.get("before"), event.get("after")
    command, ts = str(event.get("command")), str(event.get("ts"))
    if not isinstance(target, str) or not target:
        raise ConfigError(f"the last write ({command} at {ts}) names no target in the log; cannot undo it")
    if event.get("backup"):
        raise ConfigError(
            f"the last write ({command} at {ts}) replaced an unparseable file {target}; "
            "undo does not bring a broken file back",
            hint=f"to restore it by hand: cp {event['backup']} {target}",
        )
    if event.get("event") == "config_changed":
        return Step("config", target, str(event.get("key")), after, before, ts, command)
    if before is not None and scope_problem(before) is not None:
        raise ConfigError(
            f"the value before the last write ({command} at {ts}) was "
            f"{shown(before)}, not a valid scope; undo restores valid scopes only",
            hint="set the scope you want: ctxscope repair --to SCOPE",
        )
    if target.startswith(("http://", "https://")):
        if before is None:
            raise ConfigError(
                f"the cloud default was unset before the last write ({command} "
                f"at {ts}); the cloud contract has no way to unset it",
                hint="set the default you want with `ctxscope sync "
                "--direction resolved-to-cloud --scope SCOPE`",
            )
        return Step("cloud", target, "scope", after, before, ts, command)
    return Step("local", target, "scope", after, before, ts, command)


def check_unchanged(ctx, steps: list[Step]) -> None:
    """Refuse when a target no longer holds what the write left there."""
    for step in steps:
        current = _current(ctx, step)
        if current != step.now:
            raise ConfigError(
                f"{step.target}: {step.key} changed since the {step.command} at {step.ts}: "
                f"it holds {shown(current)}, that write left {shown(step.now)}; not undoing",
                hint="run `ctxscope status` to see the current state",
            )


def _current(ctx, step: Step) -> object:
    if step.source == "cloud":
        from .sources.cloud import CloudSource

        if ctx.cloud is None or not step.target.startswith(ctx.cloud.url):
            raise ConfigError(
                f"the last write went to the cloud {step.target}, which is not "
                "the cloud configured now; not undoing"
            )
        return CloudSource().read_fresh(ctx)[0]
    from . import config as config_mod
    from .configedit import get_key

    if not os.path.lexists(step.target):
        return None
    cf = config_mod.read_file(step.target, "project")
    if cf.error is not None:
        raise cf.error
    return get_key(cf.data, step.key)


def authorize(ctx, steps: list[Step]) -> None:
    """With a cloud, each scope written back must be visible; a cloud one writable."""
    if ctx.cloud is None:
        return
    for step in steps:
        if step.source == "config" or step.blocked or step.restore is None:
            continue
        access = ctx.cloud.client.get_access(str(step.restore))
        if access is None:
            raise UnauthorizedError(
                f"scope {step.restore!r} is not visible to the token; nothing was written"
            )
        if step.source == "cloud" and access != "write":
            raise UnauthorizedError(
                f"the token has only {access} access to {step.restore!r}; "
                "changing the cloud default needs write access; nothing "
                "was written"
            )


def apply(ctx, steps: list[Step]) -> list[dict]:
    """Write each step back, newest change first; each is read back and logged."""
    from .configedit import ConfigEdit, apply_edit

    done = []
    for step in steps:
        if step.blocked:
            continue
        if step.source == "cloud":
            from .sources.cloud import CloudSource

            _before, revision = CloudSource().read_fresh(ctx)
            written = CloudSource().write(ctx, str(step.restore), revision=revision, before=step.now)
            _log_scope(ctx, step, written.verified)
            verified = written.verified
        elif step.source == "local" and step.restore is not None:
            from .sources.local import LocalSource

            written = LocalSource().write(ctx, str(step.restore), path=step.target)
            _log_scope(ctx, step, written.verified)
            verified = written.verified
        else:
            kind = _kind(ctx, step.target)
            edited = apply_edit(
                ConfigEdit(step.key, step.target, kind, step.now, step.restore), ctx, command=UNDO_COMMAND
            )
            verified = edited.verified
        done.append({**step.to_dict(), "verified": verified})
    return done


def _kind(ctx, path: str) -> str:
    user = os.path.realpath(ctx.config.user.path) if ctx.config.user else None
    return "user" if user == os.path.realpath(path) else "project"


def _log_scope(ctx, step: Step, verified: bool) -> None:
    from .events import append, base_event
    from .output import err
    from .resolver import resolve

    res = resolve(context=ctx, log=False)
    event = base_event("scope_synced", res, UNDO_COMMAND)
    event.update(direction="undo", target=step.target, before=step.now, after=step.restore, verified=verified)
    warning = append(event, ctx.config)
    if warning:
        err("warning", warning)
