"""`ctxscope repair`: bring every source to one scope in one planned run."""

from __future__ import annotations

from typing import Annotated

import typer

from ..cli import JsonOpt, app
from ..reconcile import Shell
from ._writes import DryRunOpt, YesOpt


@app.command()
def repair(
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="SCOPE",
                     help="The scope to bring every source to (default: the resolved scope; "
                          "with an invalid CTX_SCOPE, what resolves without it)."),
    ] = None,
    shell: Annotated[
        Shell | None,
        typer.Option("--shell", help="Print only shell code on stdout that fixes the runtime "
                     "env, for eval \"$(ctxscope repair --shell bash)\" (fish: | source)."),
    ] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Bring the local file, the cloud default, its cache and the runtime env to one scope.

    Authorizes the target (not the scope that resolves now), writes the local file
    (a file that cannot be parsed is backed up beside itself first), PUTs the cloud
    default when [policy] mode allows it, clears the cache entries it changed, and
    reads every write back. The shell that started ctxscope cannot be changed from
    here: without --shell a differing CTX_SCOPE leaves the run unfinished (exit 3)
    and the exact eval command is printed. A write the mode refused exits 1.
    """
    from ._writes import run

    raise typer.Exit(run(command="repair", to=to, shell=shell, dry_run=dry_run, yes=yes,
                         json_out=json_out))
