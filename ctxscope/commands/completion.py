"""`ctxscope completion SHELL`: print the completion script that ships in the package.

The scripts are generated from the command-line app by tools/docgen.py and installed
with the package, so the script printed always matches the installed commands. They
are static lists: a TAB never starts ctxscope.
"""

from __future__ import annotations

import sys
from importlib import resources

from ..errors import CtxScopeError, ExitCode
from ..kinds import Shell

# The shipped file for each shell, under ctxscope/data/completions/.
SCRIPTS: dict[Shell, str] = {Shell.BASH: "ctxscope.bash", Shell.ZSH: "_ctxscope", Shell.FISH: "ctxscope.fish"}


def script(shell: Shell | str) -> str:
    """The completion script for SHELL, as shipped."""
    shell = Shell(shell)
    name = SCRIPTS[shell]
    try:
        return (resources.files("ctxscope") / "data" / "completions" / name).read_text(encoding="utf-8")
    except OSError as exc:
        raise CtxScopeError(
            f"the {shell.value} completion script is missing from this installation "
            f"(ctxscope/data/completions/{name}: {exc.strerror or exc})",
            hint="reinstall ctxscope",
        ) from None


def completion(*, shell: Shell | str) -> int:
    """Print the completion script for SHELL on stdout; return the exit code."""
    sys.stdout.write(script(shell))
    sys.stdout.flush()
    return int(ExitCode.OK)
