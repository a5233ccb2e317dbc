"""`ctxscope sync`: make one source follow another, in the one direction named."""

from __future__ import annotations

from typing import Annotated

import typer

from ..cli import JsonOpt, ScopeOpt, app
from ..reconcile import Direction
from ._writes import DryRunOpt, YesOpt


@app.command()
def sync(
    direction: Annotated[
        Direction,
        typer.Option("--direction", show_default=False,
                     help="runtime-to-local: write the runtime scope (CTX_SCOPE or --scope) "
                          "into the local file. resolved-to-cloud: PUT the resolved scope as "
                          "the cloud default. Required; there is no default direction."),
    ],
    scope: ScopeOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Write one source from another, verify it by reading it back, and log it.

    runtime-to-local edits `scope` in the file that holds the local scope (or a new
    .ctxscope.toml at the repository root), keeping its comments, layout and mode,
    atomically and under a lock. resolved-to-cloud PUTs the resolved scope with
    If-Match (a 412 is a conflict: exit 1, never retried) and needs write access.
    Already in sync: nothing written, exit 0. Allowed by [policy] mode: local
    writes in local, cloud and enforce; cloud writes in cloud and enforce.
    """
    from ._writes import run

    raise typer.Exit(run(command="sync", direction=direction, scope=scope, dry_run=dry_run,
                         yes=yes, json_out=json_out))
