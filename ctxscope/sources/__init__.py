"""The four sources of a scope, in precedence order, behind one small interface.

Each source module has a class with a `name` and `read(ctx) -> Reading`;
sources that can be written (local, cloud) also have `write(ctx, value)`.
"""

from __future__ import annotations

from collections import namedtuple

from ..kinds import PRECEDENCE

__all__ = ["PRECEDENCE", "Reading", "Written", "reading"]

# What a read found. `state` is one of:
#   set         a valid value
#   unset       nothing there (an empty env var, no file, cloud default null, policy fail)
#   invalid     a value that breaks the scope rules; `raw` holds it, `problem` says why
#   unreadable  a file that cannot be read or parsed
#   error       the cloud answered outside the contract or could not be reached
#   not_configured  no cloud URL
# The resolver later turns `set` into resolved / in_sync / drifted.
_Reading = namedtuple(
    "_Reading",
    "source value origin state problem raw error extra",
    defaults=(None, None, None, None),
)


class Reading(_Reading):
    """One source's answer: value, origin, state, and why when it is not usable."""

    __slots__ = ()

    @property
    def usable(self) -> bool:
        return self.state == "set"

    @property
    def blocking(self) -> bool:
        """A state that stops resolution when this is the first source consulted."""
        return self.state in ("invalid", "unreadable", "error")


# What a write did: the file or URL written, the value found just before the write,
# the value written, whether anything changed (False: it already held the value),
# whether a fresh read gave the value back, and the backup of a replaced broken file.
Written = namedtuple("Written", "target before after changed verified backup",
                     defaults=(None,))


def reading(source: str, value=None, origin=None, state="unset", problem=None,
            raw=None, error=None, **extra) -> Reading:
    return Reading(source, value, origin, state, problem, raw, error, extra)
