"""`ctxscope hook SHELL [--run]`: the startup-file snippet, or the check it runs.

The snippet and the check themselves are `ctxscope.hook`'s (shell integration,
no Typer); this is the command: print the one or run the other.
"""

from __future__ import annotations

import sys


def hook(*, shell: str, run: bool = False, json_out: bool = False) -> int:
    """Print the snippet for `shell`, or with `run` run the check it runs. Exits 0.

    With `json_out`: `{"shell", "snippet"}`, or with `run` `{"state", "warning"}`.
    """
    from .. import hook as shell_hook

    if run:
        return shell_hook.run_check(shell, json_out=json_out)
    if json_out:
        from ..output import print_json

        print_json({"shell": shell, "snippet": shell_hook.snippet(shell)})
        return 0
    sys.stdout.write(shell_hook.snippet(shell))
    return 0
