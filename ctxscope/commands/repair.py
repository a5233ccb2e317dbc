"""`ctxscope repair`: bring every source to one scope in one planned run."""

from __future__ import annotations

from ..kinds import Shell


def repair(
    *,
    to: str | None = None,
    shell: Shell | str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json_out: bool = False,
    force: bool = False,
) -> int:
    """Bring the local file, the cloud default, its cache and the runtime env to one scope."""
    from ._writes import run

    return run(command="repair", to=to, shell=shell, dry_run=dry_run, yes=yes, json_out=json_out, force=force)
