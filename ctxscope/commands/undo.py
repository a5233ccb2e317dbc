"""`ctxscope undo`: revert the last write ctxscope made (see `ctxscope.undo`)."""

from __future__ import annotations

from .. import undo as core
from ..errors import CtxScopeError
from ..output import err, warn_all
from .config_edit import confirm, done, report_failure, shown


def undo(*, dry_run: bool = False, yes: bool = False, json_out: bool = False) -> int:
    """Plan, check, confirm and apply the undo of the last write; returns the exit code."""
    from ..resolver import Context

    report: dict = {"command": "undo", "dry_run": dry_run, "changes": []}
    ctx = Context(refresh=True, command="undo")
    try:
        warn_all(ctx.config.warnings)
        events = core.last_write(ctx.config)
        steps = core.plan(ctx, events)
        report["changes"] = [s.to_dict() for s in steps]
        core.check_unchanged(ctx, steps)
        first = steps[-1]
        if not json_out:
            print(f"plan: undo the {first.command} at {first.ts}")
            for s in steps:
                line = f"  {s.source:<7} {s.target}  {s.key}: {shown(s.now)} -> {shown(s.restore)}"
                if s.blocked:
                    line += f"  NOT ALLOWED: {s.blocked}"
                print(line)
        blocked = [s for s in steps if s.blocked]
        if blocked:
            for s in blocked:
                err("error", f"{s.source} {s.target} was not undone: {s.blocked}")
            return done(report, json_out, "refused", 1)
        core.authorize(ctx, steps)
        if dry_run:
            if not json_out:
                print("dry run: nothing was written")
            return done(report, json_out, "planned", 0)
        if not yes:
            confirm(len(steps))
            if ctx.cloud is not None:
                ctx.cloud.new_budget()
        report["changes"] = core.apply(ctx, steps)
        if not json_out:
            for row in report["changes"]:
                print(
                    f"written  {row['source']:<7} {row['target']}: {shown(row['before'])} -> "
                    f"{shown(row['after'])}, read back: "
                    f"{'ok' if row['verified'] else 'NOT VERIFIED'}"
                )
            print("         to undo this undo: ctxscope undo")
        return done(report, json_out, "applied", 0)
    except CtxScopeError as exc:
        report_failure(report, json_out, exc)
        raise
    finally:
        ctx.close()
