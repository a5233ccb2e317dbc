"""`ctxscope status`: every source, its value, origin and state, which one wins, the fix.

Both entry paths call `status()`: the Typer command in `cli` and the fast path
in `_entry` (which skips Typer and its pydantic), so output and exit codes are
the same whichever path ran. rich is imported only to draw the table, never for
`--json`.
"""

from __future__ import annotations

from ..output import print_json, warn_all

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing on the fast path
if TYPE_CHECKING:
    from typing import Any

    from ..resolver import Resolution


def status(
    *,
    scope: str | None = None,
    json_out: bool = False,
    check: bool = False,
    offline: bool = False,
    refresh: bool = False,
    watch: bool = False,
    interval: float = 1.0,
) -> int:
    """Show every source and the state; the exit code is the state's with `check`, else 0."""
    if watch:
        from ..errors import UsageError
        from ..watch import watch_status

        if check:
            raise UsageError(
                "--watch and --check cannot be combined", hint="use --check alone in scripts and CI"
            )
        return watch_status(
            scope=scope, json_out=json_out, offline=offline, refresh=refresh, interval=interval
        )
    from ..resolver import resolve

    res = resolve(scope=scope, offline=offline, refresh=refresh, command="status")
    warn_all(res.warnings)
    processes = _processes()
    if json_out:
        print_json(status_object(res, processes))
    else:
        from ..render import make_console, print_status

        console = make_console()
        print_status(res, console)
        if processes and processes["stale"]:
            from ..render_forensics import print_stale_note

            print_stale_note(processes, console)
    return int(res.check_exit_code) if check else 0


def _processes() -> dict[str, Any] | None:
    """Stale processes for `status`: cached cloud answers only, never fatal."""
    from ..procs import status_summary

    return status_summary()


def status_object(
    res: Resolution, processes: dict[str, Any] | None = None, *, scan: bool = True
) -> dict[str, Any]:
    """The `status --json` object for a Resolution; the MCP tool scope_status and the health
    app's /status return it too.

    Without `processes`, the processes are scanned here unless `scan` is false (the
    health app scans them itself, within its time budget).
    """
    if processes is None and scan:
        processes = _processes()
    return {**res.to_dict(), "processes": processes}
