"""`ctxscope sync`: make one source follow another, in the one direction named."""

from __future__ import annotations

from ..kinds import Direction


def sync(
    *,
    direction: Direction | str,
    scope: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json_out: bool = False,
    force: bool = False,
) -> int:
    """Write one source from another, read it back, log it; return the exit code."""
    from ._writes import run

    return run(
        command="sync",
        direction=direction,
        scope=scope,
        dry_run=dry_run,
        yes=yes,
        json_out=json_out,
        force=force,
    )
