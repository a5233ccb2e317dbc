"""`ctxscope prompt`: a short scope marker for PS1, from the cache only."""

from __future__ import annotations

import re
import sys

from ..hook import DEADLINE, PROMPT_FIELDS, PROMPT_FORMAT


def prompt(*, fmt: str = PROMPT_FORMAT, json_out: bool = False, deadline: float | None = DEADLINE) -> int:
    """Print FORMAT for the shell prompt, or nothing when no scope is set. Exits 0.

    FORMAT has {scope} (the resolved scope), {mark} ("!" when the startup hook
    would warn, else empty), {state} and {source}; nothing is printed when no
    scope is set and nothing needs attention. Never writes anything.

    With `json_out`, one object: `{"scope", "mark", "state", "source", "text"}`,
    where `text` is what the prompt prints (without the newline) or null when it
    prints nothing; scope and source are null when there is none, and state is
    "ERROR" for a config that stops every command, or null when the check gave
    up at the deadline.
    """
    from string import Formatter

    from .. import hook as shell_hook
    from ..errors import UsageError

    try:
        for _text, field, spec, _conversion in Formatter().parse(fmt):
            if field is not None and field not in PROMPT_FIELDS:
                raise ValueError(f"unknown field {{{field}}}")
            if spec and re.search(r"\d{4,}", spec):
                # `{scope:>99999999999}` would ask for gigabytes of padding.
                raise ValueError("a width or precision above 999 in a format spec")
        fmt.format_map(dict.fromkeys(PROMPT_FIELDS, ""))
    except (ValueError, KeyError, IndexError, OverflowError, MemoryError) as exc:
        fields = ", ".join("{" + f + "}" for f in PROMPT_FIELDS)
        raise UsageError(f"--format {fmt!r}: {exc}; the fields are {fields}") from None
    found = None
    with shell_hook.give_up_after(deadline):
        found = shell_hook.prompt_fields()
    text = None
    if found is not None and (found["scope"] or found["mark"]):
        text = fmt.format_map(found)
    if json_out:
        from ..output import print_json

        found = found or {"scope": "", "mark": "", "state": None, "source": ""}
        print_json(
            {
                "scope": found["scope"] or None,
                "mark": found["mark"],
                "state": found["state"],
                "source": found["source"] or None,
                "text": text,
            }
        )
    elif text is not None:
        sys.stdout.write(text + "\n")
    return 0
