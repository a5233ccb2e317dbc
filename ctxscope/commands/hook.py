"""`ctxscope hook SHELL`: the startup-file snippet, and (`--run`) the check it runs."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from ..cli import app

Shell = Literal["bash", "zsh", "fish"]


@app.command()
def hook(
    shell: Annotated[
        Shell,
        typer.Argument(metavar="SHELL", help="The shell whose startup file gets the snippet."),
    ],
    run: Annotated[
        bool,
        typer.Option("--run", help="Run the startup check instead of printing the snippet: one "
                     "line on stderr when the scope needs attention, nothing otherwise; "
                     "always exits 0."),
    ] = False,
    json_out: Annotated[
        bool,
        typer.Option("--json", help='Print one JSON object on stdout: {"shell", "snippet"}; '
                     'with --run, {"state", "warning"} (the line, or null) and nothing on '
                     "stderr."),
    ] = False,
) -> None:
    """Print a snippet for ~/.bashrc, ~/.zshrc or config.fish that warns at shell start.

    The snippet prints one line on stderr when the scope is DRIFTED, INVALID or
    UNAUTHORIZED (UNRESOLVED only inside a directory with a .ctxscope.toml), and
    nothing when in sync, where ctxscope is not used, or when ctxscope is missing
    or fails. It reads the cloud from the cache and never waits for the network; a
    stale answer is refreshed in the background for the next shell. Install:
    `ctxscope hook bash >> ~/.bashrc`.
    """
    from ..hook import hook_command

    raise typer.Exit(hook_command(shell=shell, run=run, json_out=json_out))
