"""`ctxscope config set KEY VALUE` and `ctxscope config unset KEY`.

A write like every other: the plan names the file (its real path), the value
before and after; `--dry-run` stops there; a terminal is asked unless `--yes`,
and without one nothing is written (exit 2). The edit keeps comments, is atomic,
read back and logged (`config_changed`), so `ctxscope undo` can take it back.
"""

from __future__ import annotations

import json
import sys

from .. import configedit
from ..errors import CtxScopeError
from ..output import err, print_json, warn_all


def set_setting(
    *,
    key: str,
    value: str,
    where: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json_out: bool = False,
) -> int:
    """`config set KEY VALUE [--user|--project]`; returns the exit code."""
    parsed = configedit.parse_value(key, value)
    return _run("set", key, parsed, where=where, dry_run=dry_run, yes=yes, json_out=json_out)


def unset_setting(
    *, key: str, where: str | None = None, dry_run: bool = False, yes: bool = False, json_out: bool = False
) -> int:
    """`config unset KEY [--user|--project]`; returns the exit code."""
    configedit.check_key(key)
    return _run("unset", key, None, where=where, dry_run=dry_run, yes=yes, json_out=json_out)


def shown(value: object) -> str:
    """A setting's value as TOML would write it; `(unset)` for none."""
    if value is None:
        return "(unset)"
    from ..scope import display

    return display(json.dumps(value, ensure_ascii=False), 200)


def _run(
    verb: str, key: str, value: object, *, where: str | None, dry_run: bool, yes: bool, json_out: bool
) -> int:
    from ..resolver import Context

    report: dict = {"command": f"config {verb}", "dry_run": dry_run}
    ctx = Context(offline=True, command="config")
    try:
        warn_all(ctx.config.warnings)
        edit = configedit.plan_edit(ctx.config, key, value, where=where, cwd=ctx.cwd)
        report.update(edit.to_dict())
        if _same(edit.before, edit.after):
            if not json_out:
                held = "is not set" if edit.after is None else f"already holds {shown(value)}"
                print(f"in sync: {key} {held} in {edit.path}; nothing to write")
                _say_note(edit)
            return done(report, json_out, "in_sync")
        if not json_out:
            print(f"plan: config {verb} {key} in the {configedit.FILE_NAMES[edit.kind]}")
            print(f"  {edit.path}  {key}: {shown(edit.before)} -> {shown(edit.after)}")
            _say_note(edit)
        if dry_run:
            if not json_out:
                print("dry run: nothing was written")
            return done(report, json_out, "planned")
        if not yes:
            confirm(1)
        edited = configedit.apply_edit(edit, ctx)
        report.update(verified=edited.verified, undo="ctxscope undo")
        if not json_out:
            print(
                f"written  {edit.path}: {key} {shown(edited.before)} -> {shown(edited.after)}, "
                f"read back: {'ok' if edited.verified else 'NOT VERIFIED'}"
            )
            print("         to undo: ctxscope undo")
        return done(report, json_out, "applied")
    except CtxScopeError as exc:
        report_failure(report, json_out, exc)
        raise
    finally:
        ctx.close()


def report_failure(report: dict, json_out: bool, exc: CtxScopeError) -> None:
    """With --json, the one object says the run failed and why (the error line goes to stderr)."""
    if json_out:
        report.update(result="failed", exit_code=int(exc.exit_code), error=exc.message)
        print_json(report)


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _say_note(edit: configedit.ConfigEdit) -> None:
    if edit.note:
        err("warning", f"{edit.key}: {edit.note}")


def done(report: dict, json_out: bool, result: str, code: int = 0) -> int:
    """Print the --json object with its result and exit code; return the code."""
    if json_out:
        report.update(result=result, exit_code=code)
        print_json(report)
    return code


def confirm(writes: int) -> None:
    """Ask a terminal to confirm `writes` writes; refuse without a terminal (exit 2)."""
    from ..errors import UsageError

    if not sys.stdin.isatty():
        raise UsageError(
            f"not writing without confirmation ({writes} write{'s' if writes != 1 else ''} "
            "planned) and there is no terminal to ask; pass --yes to write, or --dry-run to "
            "see the plan",
        )
    sys.stderr.write(f"Write {'this change' if writes == 1 else f'these {writes} changes'}? [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise CtxScopeError("declined at the prompt; nothing was written")
