"""`ctxscope prompt`: a short scope marker for PS1, from the cache only."""

from __future__ import annotations

from typing import Annotated

import typer

from ..cli import app
from ..hook import PROMPT_FORMAT


@app.command()
def prompt(
    fmt: Annotated[
        str,
        typer.Option("--format", metavar="FORMAT",
                     help="What to print: {scope} the resolved scope, {mark} '!' when the "
                     "scope needs attention, {state} e.g. SYNCED, {source} e.g. local."),
    ] = PROMPT_FORMAT,
) -> None:
    """Print a short scope marker for the shell prompt; nothing when no scope is set.

    For bash and zsh: PS1='$(ctxscope prompt --format "[{scope}{mark}] ")'"$PS1"
    (zsh needs `setopt prompt_subst`). Reads the cloud answer from the cache only,
    never waits for the network, and never writes a file.
    """
    from .. import hook as shell_hook

    raise typer.Exit(shell_hook.prompt(fmt))
