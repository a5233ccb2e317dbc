"""The bodies of `ctxscope status` and `ctxscope diff`, shared by both entry paths.

The Typer commands in `cli` and the fast path in `_entry` (which skips Typer and
its pydantic) both call these, so output and exit codes are the same whichever
path ran. rich is imported only to draw the table, never for `--json`.
"""

from __future__ import annotations

from .output import print_json, warn_all


def status(*, scope: str | None = None, json_out: bool = False, check: bool = False,
           offline: bool = False, refresh: bool = False) -> int:
    """Show every source and the state; the exit code is the state's with `check`, else 0."""
    from .resolver import resolve

    res = resolve(scope=scope, offline=offline, refresh=refresh, command="status")
    warn_all(res.warnings)
    if json_out:
        print_json(res.to_dict())
    else:
        from .render import make_console, print_status

        print_status(res, make_console())
    return int(res.check_exit_code) if check else 0


def diff(*, scope: str | None = None, json_out: bool = False, offline: bool = False,
         refresh: bool = False) -> int:
    """Show each drifted source against the resolved scope; the exit code is the state's."""
    from .resolver import resolve

    res = resolve(scope=scope, offline=offline, refresh=refresh, command="diff")
    warn_all(res.warnings)
    if json_out:
        print_json(res.to_dict())
    else:
        from .render import make_console, print_diff

        print_diff(res, make_console())
    return int(res.check_exit_code)
