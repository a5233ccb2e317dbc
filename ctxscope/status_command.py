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
    processes = _processes()
    if json_out:
        print_json(status_object(res, processes))
    else:
        from .render import make_console, print_status

        console = make_console()
        print_status(res, console)
        if processes and processes["stale"]:
            from .render_forensics import print_stale_note

            print_stale_note(processes, console)
    return int(res.check_exit_code) if check else 0


def _processes() -> dict | None:
    """Stale processes for `status` (issue 6): cached cloud answers only, never fatal."""
    from .procs import status_summary

    return status_summary()


def diff(*, scope: str | None = None, json_out: bool = False, offline: bool = False,
         refresh: bool = False) -> int:
    """Show each drifted source against the resolved scope; the exit code is the state's."""
    from .resolver import resolve

    res = resolve(scope=scope, offline=offline, refresh=refresh, command="diff")
    warn_all(res.warnings)
    if json_out:
        print_json(diff_object(res))
    else:
        from .render import make_console, print_diff

        print_diff(res, make_console())
    return int(res.check_exit_code)


def status_object(res, processes: dict | None = None) -> dict:
    """The `status --json` object for a Resolution; the MCP tool scope_status returns it too."""
    if processes is None:
        processes = _processes()
    return {**res.to_dict(), "processes": processes}


def diff_object(res) -> dict:
    """The `diff --json` object for a Resolution; the MCP tool scope_diff returns it too."""
    return res.to_dict()
