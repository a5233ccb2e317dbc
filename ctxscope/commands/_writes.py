"""What `sync`, `repair` and `init` share on the CLI side: show the plan, ask, apply, report.

The plan, the checks and the writes are `ctxscope.reconcile`'s; this module only
talks to the person (or script) running the command. Human output goes to
stdout, or to stderr when stdout is reserved for shell code (`repair --shell`);
`--json` prints one object on stdout; errors are one line on stderr.
"""

from __future__ import annotations

import sys

from .. import reconcile
from ..errors import CtxScopeError, UsageError
from ..output import err, print_json, warn_all
from ..scope import shown

_BEFORE = {"create": "(no file)", "replace_broken": "(cannot be parsed)"}


def run(
    *,
    command: str,
    direction=None,
    to: str | None = None,
    scope: str | None = None,
    shell=None,
    dry_run: bool = False,
    yes: bool = False,
    json_out: bool = False,
    log: bool = True,
    finish=None,
    force: bool = False,
) -> int:
    """Resolve, plan, check, confirm, apply; return the exit code (errors are raised).

    `log=False` resolves without logging what it finds (the write is still logged).
    `force=True` lets a read-only local file be replaced (`--force`).
    `finish(plan, ctx, report, *, result, access, applied, out, human)` replaces the
    closing line of a run that ends with 0 (`result`: in_sync, planned or applied):
    it adds its keys to `report` (the --json object) and prints for a person.
    """
    from ..resolver import Context, resolve

    if shell is not None and json_out:
        raise UsageError("--shell prints only shell code on stdout; it cannot be combined with --json")
    report: dict = {"command": command, "direction": _value(direction), "dry_run": dry_run}
    ctx = None
    try:
        # Writes are planned against fresh cloud answers, never a cached one.
        ctx = Context(scope=scope, refresh=True, command=command)
        res = resolve(context=ctx, log=log)
        warn_all(res.warnings)
        plan = reconcile.plan(ctx, res, command=command, direction=direction, to=to, force=force)
        report.update(plan.to_dict())
        return _execute(
            plan, ctx, report, shell=shell, dry_run=dry_run, yes=yes, json_out=json_out, finish=finish
        )
    except CtxScopeError as exc:
        if json_out:
            report.setdefault("changes", [])
            report.update(result="failed", exit_code=int(exc.exit_code), error=exc.message)
            print_json(report)
        raise
    finally:
        if ctx is not None:
            ctx.close()


def _execute(plan, ctx, report, *, shell, dry_run, yes, json_out, finish=None) -> int:
    out = sys.stderr if shell is not None else sys.stdout
    human = not json_out
    applied = None
    if not plan.changes:
        if finish is not None:
            finish(
                plan, ctx, report, result="in_sync", access="not_checked", applied=None, out=out, human=human
            )
        elif human:
            out.write(f"in sync: {_subject(plan)} already holds {plan.scope!r}; nothing to write\n")
        return _done(report, json_out, "in_sync", 0)

    if human:
        _print_plan(plan, out, shell)
    access = reconcile.authorize(plan, ctx)
    code = plan.exit_code(shell=shell is not None)
    if dry_run:
        if finish is not None and code == 0:
            finish(plan, ctx, report, result="planned", access=access, applied=None, out=out, human=human)
        elif human:
            out.write("dry run: nothing was written\n")
        _report_unfinished(plan, report, shell, would=True, quiet=json_out)
        return _done(report, json_out, "planned", code)

    if plan.writes and not yes:
        _confirm(plan)
        if ctx.cloud is not None:
            ctx.cloud.new_budget()  # the time spent at the prompt was not the cloud's
    if plan.writes or any(c.source == "cache" for c in plan.changes):
        applied = reconcile.apply(plan, ctx)
        warn_all(applied.warnings)
        report["changes"] = _changes_with_outcomes(plan, applied)
        if human:
            _print_outcomes(plan, applied, out)
        if applied.error is not None:
            raise applied.error
    if shell is not None and code == 0:
        sys.stdout.write(reconcile.shell_code(plan.runtime, shell))
        sys.stdout.flush()
    elif shell is not None and plan.runtime is not None:
        # `eval "$(...)"` hides the exit code: shell code from a repair that did not
        # finish would look like a fix. Print none, and say so.
        err(
            "error",
            "no shell code printed: the repair did not finish (see above); the runtime env was left as it is",
        )
    _report_unfinished(plan, report, shell, would=False, quiet=json_out)
    if finish is not None and code == 0:
        finish(plan, ctx, report, result="applied", access=access, applied=applied, out=out, human=human)
    elif human and code == 0:
        tail = " (the shell's env once it evaluates the code)" if plan.runtime else ""
        if plan.runtime is not None and plan.runtime.after is None and plan.scope is not None:
            names = plan.runtime.target.removeprefix("env ")
            tail = (
                f" (the override {names} is dropped once the shell evaluates the code, "
                "so the project file's value applies)"
            )
        if plan.scope is None:
            out.write(f"done: {plan.runtime.target} unset{tail}\n")
        else:
            out.write(f"done: {_subject(plan)} now holds {plan.scope!r}{tail}\n")
    return _done(report, json_out, "applied" if code == 0 else "incomplete", code)


def _done(report, json_out, result, code) -> int:
    if json_out:
        report["result"] = result
        report["exit_code"] = code
        report.setdefault("unfinished", [])
        print_json(report)
    return code


def _subject(plan) -> str:
    if plan.command == "repair":
        return "every source"
    if plan.command == "init" or plan.direction == reconcile.Direction.RUNTIME_TO_LOCAL.value:
        return "local"
    return "the cloud"


def _print_plan(plan, out, shell) -> None:
    mode = plan.resolution.mode
    what = f"sync {plan.direction}" if plan.command == "sync" else plan.command
    goal = ": unset the invalid runtime value" if plan.scope is None else f" to {plan.scope!r}"
    out.write(f"plan: {what}{goal} ([policy] mode {mode})\n")
    width = max(len(_shown_target(c)) for c in plan.changes)
    for c in plan.changes:
        target = _shown_target(c)
        if c.source == "cache":
            line = f"  {c.source:<8} {target:<{width}}  clear the cached cloud default"
        else:
            was = _BEFORE.get(c.action) or shown(c.before)
            line = f"  {c.source:<8} {target:<{width}}  {was} -> {shown(c.after)}"
        if c.action == "replace_broken":
            line += "  (backed up beside itself first)"
        if c.blocked:
            line += f"  NOT ALLOWED: {c.blocked}"
        elif c.source == "runtime":
            line += (
                "  (shell code on stdout)" if shell is not None else "  (your shell: " + _finish(plan) + ")"
            )
        out.write(line + "\n")


def _shown_target(change) -> str:
    """The target as the plan prints it: a link is shown with the file it really writes."""
    import os

    real = change.extra.get("real") if change.extra else None
    if real and real != os.path.abspath(change.target):
        return f"{change.target} (writes {real})"
    return change.target


def _finish(plan) -> str:
    import os

    return reconcile.finish_command(plan.scope, reconcile.guess_shell(os.environ))


def _confirm(plan) -> None:
    n = len(plan.writes)
    if not sys.stdin.isatty():
        raise UsageError(
            f"not writing without confirmation ({n} write{'s' if n != 1 else ''} planned) "
            "and there is no terminal to ask; pass --yes to write, or --dry-run to see the plan",
        )
    sys.stderr.write(f"Write {'this change' if n == 1 else f'these {n} changes'}? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if answer.strip().lower() not in ("y", "yes"):
        raise CtxScopeError("declined at the prompt; nothing was written")


def _print_outcomes(plan, applied, out) -> None:
    for o in applied.outcomes:
        c = o.change
        if o.status == "cleared":
            out.write(f"cleared  cache    {c.target}\n")
            continue
        if o.status == "failed":
            out.write(f"FAILED   {c.source:<8} {c.target}\n")
            continue
        if o.status == "unchanged":
            out.write(f"in sync  {c.source:<8} {c.target} (already {c.after!r})\n")
            continue
        was = _BEFORE.get(c.action) or shown(o.before)
        out.write(
            f"written  {c.source:<8} {c.target}: {was} -> {c.after!r}, "
            f"read back: {'ok' if o.verified else 'NOT VERIFIED'}\n"
        )
        if o.backup:
            out.write(f"         the unparseable file was saved as {o.backup}\n")
        undo = undo_hint(c, o, plan.command)
        if undo:
            out.write(f"         to undo: {undo}\n")


def undo_hint(change, outcome, command: str = "sync") -> str | None:
    """How to go back to the value before this write (also in docs/how-to/reconcile.md)."""
    import shlex

    from ..scope import scope_problem

    before = outcome.before
    if outcome.backup:
        return f"cp {shlex.quote(outcome.backup)} {shlex.quote(change.target)}"
    if change.source == "local":
        if change.action == "create":
            return f"rm {shlex.quote(change.target)}"
        if before is None:
            return f"remove the `scope` line from {change.target}"
        if scope_problem(before) is None and command == "init":
            return f"ctxscope init --scope {shlex.quote(before)} --yes"
        if scope_problem(before) is None:
            return f"ctxscope sync --direction runtime-to-local --scope {shlex.quote(before)} --yes"
        return None
    if change.source == "cloud" and before is not None and scope_problem(before) is None:
        return f"ctxscope sync --direction resolved-to-cloud --scope {shlex.quote(before)} --yes"
    return None


def _changes_with_outcomes(plan, applied) -> list[dict]:
    by_change = {id(o.change): o for o in applied.outcomes}
    rows = []
    for c in plan.changes:
        row = reconcile.change_to_dict(c)
        o = by_change.get(id(c))
        if o is not None:
            row.update(
                status=o.status,
                verified=o.verified,
                before=o.before,
                backup=o.backup,
                undo=undo_hint(c, o, plan.command),
            )
        rows.append(row)
    return rows


def _report_unfinished(plan, report, shell, *, would: bool, quiet: bool) -> None:
    """Say which sources still differ after this run, and what finishes the job."""
    import os

    items = reconcile.unfinished(plan, shell=shell is not None, env=os.environ)
    report["unfinished"] = items
    if quiet:
        return
    for item in items:
        held = "would stay" if would else "still holds"
        wanted = "to be unset" if item["wanted"] is None else f"not {item['wanted']!r}"
        message = (
            f"{item['source']} {item['target']} {held} {shown(item['value'])}, {wanted}: {item['reason']}"
        )
        if item["fix"]:
            message += f"; finish with: {item['fix']}"
        err("error", message)


def _value(enum_or_str):
    return getattr(enum_or_str, "value", enum_or_str)
