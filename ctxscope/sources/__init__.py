"""The four sources of a scope, in precedence order, behind one small interface.

Each source module has a class with a `name` and `read(ctx) -> Reading`;
sources that can be written (local, cloud) also have `write(ctx, value)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from ..kinds import PRECEDENCE

if TYPE_CHECKING:
    from ..errors import CtxScopeError

__all__ = ["PRECEDENCE", "Reading", "Written", "reading"]


# What a read found. `state` is one of:
#   set         a valid value
#   unset       nothing there (an empty env var, no file, cloud default null, policy fail)
#   invalid     a value that breaks the scope rules; `raw` holds it, `problem` says why
#   unreadable  a file that cannot be read or parsed
#   error       the cloud answered outside the contract or could not be reached
#   not_configured  no cloud URL
# The resolver later turns `set` into resolved / in_sync / drifted.
class Reading(NamedTuple):
    """One source's answer: value, origin, state, and why when it is not usable."""

    source: str
    value: str | None  # a valid scope, or None
    origin: str | None
    state: str
    problem: str | None = None
    raw: object = None  # the invalid value as found
    error: CtxScopeError | None = None
    extra: Mapping[str, Any] = MappingProxyType({})  # what else the source knows (path, revision...)

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
class Written(NamedTuple):
    target: str
    before: object  # a file's value as the log records it; the cloud's as the caller read it
    after: str
    changed: bool
    verified: bool
    backup: str | None = None


def reading(
    source: str,
    value: str | None = None,
    origin: str | None = None,
    state: str = "unset",
    problem: str | None = None,
    raw: object = None,
    error: CtxScopeError | None = None,
    **extra: Any,
) -> Reading:
    return Reading(source, value, origin, state, problem, raw, error, extra)
