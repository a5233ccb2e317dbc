"""What a valid scope is (docs/explanation/resolution.md), and the one normalisation we allow."""

from __future__ import annotations

import re

MAX_LENGTH = 128
_ALLOWED = re.compile(r"[A-Za-z0-9._/:-]+\Z")
_NOT_ALLOWED = re.compile(r"[^a-z0-9._/:-]+")


def scope_problem(value: object) -> str | None:
    """Return why `value` is not a valid scope, or None when it is valid.

    Surrounding whitespace is reported, never stripped: a silently trimmed value
    is how two processes end up disagreeing about what "the same" scope is.
    """
    if not isinstance(value, str):
        return f"must be a string, not {_type_name(value)}"
    if value == "":
        return "is empty"
    if value != value.strip():
        return "has surrounding whitespace"
    if len(value) > MAX_LENGTH:
        return f"is {len(value)} characters long (at most {MAX_LENGTH})"
    bad = sorted({c for c in value if not _ALLOWED.match(c)})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        return f"contains characters that are not allowed ({shown}); use letters, digits and . _ - / :"
    if not value[0].isascii() or not value[0].isalnum():
        return "must start with a letter or digit"
    if ".." in value:
        return "contains '..'"
    if "//" in value:
        return "contains '//'"
    return None


def is_valid_scope(value: object) -> bool:
    return scope_problem(value) is None


def display(value: object, limit: int = MAX_LENGTH) -> str:
    """A safe one-line rendering of a raw (possibly invalid) value: escaped and cut."""
    text = value if isinstance(value, str) else repr(value)
    escaped = text.encode("unicode_escape").decode("ascii")
    if len(escaped) > limit:
        escaped = escaped[: limit - 1] + "…"
    return escaped


def loggable(value: object) -> str | None:
    """A value as the drift log and a plan record it: a valid scope as it is, anything
    else escaped and cut (`display`), None for nothing."""
    if value is None:
        return None
    return value if isinstance(value, str) and scope_problem(value) is None else display(value)


def shown(value: object) -> str:
    """A value for a message: quoted, escaped and cut; `(unset)` for nothing."""
    return "(unset)" if value is None else repr(display(value))


def normalise_identity(prefix: str, identity: str) -> str | None:
    """Turn `prefix + identity` into a valid scope, or None when nothing usable is left.

    Lower-cases, replaces each run of disallowed characters with '-', collapses
    '..' and '//', trims separators from the ends and cuts to the length limit.
    """
    text = _NOT_ALLOWED.sub("-", (prefix + identity).lower())
    while ".." in text or "//" in text:
        text = text.replace("..", ".").replace("//", "/")
    text = text[:MAX_LENGTH].strip("._/:-")
    return text if is_valid_scope(text) else None


def _type_name(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", list: "an array", dict: "a table"}.get(
        type(value), type(value).__name__
    )
