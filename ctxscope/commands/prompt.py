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
    json_out: Annotated[
        bool,
        typer.Option("--json", help='Print one JSON object on stdout: {"scope", "mark", '
                     '"state", "source", "text"}, where text is what the prompt prints (null '
                     "for nothing)."),
    ] = False,
) -> None:
    """Print a short scope marker for the shell prompt; nothing when no scope is set.

    For bash and zsh: PS1='$(ctxscope prompt --format "[{scope}{mark}] ")'"$PS1"
    (zsh needs `setopt prompt_subst`). Reads the cloud answer from the cache only,
    never waits for the network, and never writes a file.
    """
    from .. import hook as shell_hook

    raise typer.Exit(shell_hook.prompt(fmt, json_out=json_out))
