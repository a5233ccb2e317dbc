"""Set one string key in a TOML document, keeping every comment and the layout.

Used to write `scope = "..."` into `.ctxscope.toml` or the user config (`sync`,
`repair`) and settings such as `[cloud] url` (`init`). The edit goes through
tomlkit, which keeps comments, blank lines, key order and formatting, but has
known pitfalls when editing:

* a key added after a table can end up rendered inside that table (tomlkit
  issue #98; current releases guard against it, older ones did not);
* a key added to a table or the document lands after the comments and blank
  lines that introduce the next table, detaching that comment from its header
  (still so in tomlkit 0.15);
* replacing a whole table drops its comments (#392), and replacing a value with
  a nested table can pull later keys into it (#145).

So this module never replaces a table, places new keys itself (right after the
last existing key, before the first table header and its leading comments), and
then proves the result: a fresh `tomllib` parse must read back exactly the new
value and every other key unchanged, or `ConfigError` is raised. A wrong document
is never returned.

tomlkit and tomllib are imported inside the functions: tomlkit costs tens of
milliseconds, and the resolver imports this module's neighbours on every prompt.
"""

from __future__ import annotations

import math

from ctxscope.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from tomlkit.items import Item

_MISSING = object()


def set_top_level_key(text: str, key: str, value: str, *, path: str | None = None) -> str:
    """Return `text` with the top-level `key` set to the string `value`.

    An existing key keeps its place, its key spelling and its trailing comment;
    only the value changes. A missing key is added with the other top-level keys,
    before the first `[table]` or `[[array]]` header. If `key` already holds
    `value`, `text` is returned unchanged. `path` only names the file in errors.
    """
    _require_str(value)
    return _set_key(text, None, key, value, path)


def set_table_key(text: str, table: str, key: str, value: str, *, path: str | None = None) -> str:
    """Return `text` with `key` in the top-level table `table` set to the string `value`.

    The table is created at the end of the document if it does not exist; an
    existing table (a `[table]` header, dotted keys or an inline table) is edited
    in place, with the same guarantees as `set_top_level_key`.
    """
    _require_str(value)
    return _set_key(text, table, key, value, path)


def _require_str(value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"value must be a str, not {type(value).__name__}")


def set_value(text: str, dotted: str, value: object, *, path: str | None = None) -> str:
    """Return `text` with the setting `dotted` (`key` or `table.key`) set to `value`.

    `value` is a string, a number, a boolean or a list of those (what a setting
    holds), with the same guarantees as `set_top_level_key`.
    """
    table, _, key = dotted.rpartition(".")
    return _set_key(text, table or None, key, value, path)


def remove_key(text: str, dotted: str, *, path: str | None = None) -> str:
    """Return `text` without the setting `dotted` (`key` or `table.key`).

    Comments and every other key stay; a table left empty by the removal stays
    too (its header may carry comments). A missing key returns `text` unchanged.
    The result is proved like every edit here: it parses, and only that key is gone.
    """
    where = path or "TOML document"
    table, _, key = dotted.rpartition(".")
    before = _parse(text, where)
    expected = dict(before)
    if table:
        section = before.get(table)
        if not isinstance(section, dict) or key not in section:
            return text
        if isinstance(section[key], dict):
            raise ConfigError(f"{where}: {dotted} is a table; not removing it")
        expected[table] = {k: v for k, v in section.items() if k != key}
    else:
        if key not in before:
            return text
        if isinstance(before[key], dict):
            raise ConfigError(f"{where}: {dotted} is a table; not removing it")
        del expected[key]

    import tomlkit

    try:
        doc = tomlkit.parse(text)
        container = doc[table] if table else doc
        del container[key]
        result = tomlkit.dumps(doc)
    except Exception as exc:  # tomlkit's own bugs: "could not be edited", never written
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"{where}: could not remove {dotted}: {reason}") from exc
    try:
        after = _parse(result, where)
    except ConfigError:
        raise ConfigError(f"{where}: removing {dotted} would produce invalid TOML; not written") from None
    if not _same(after, expected):
        raise ConfigError(f"{where}: removing {dotted} would change other keys too; not written")
    return result


def _set_key(text: str, table: str | None, key: str, value: object, path: str | None) -> str:
    if not _plain(value):
        raise TypeError(f"value must be a str, number, bool or list, not {type(value).__name__}")
    where = path or "TOML document"
    name = key if table is None else f"{table}.{key}"

    before = _parse(text, where)
    expected = dict(before)
    if table is None:
        current = before.get(key, _MISSING)
        if isinstance(current, dict):
            raise ConfigError(f"{where}: {key} is a table, not a value; cannot set it")
        expected[key] = value
    else:
        section = before.get(table, _MISSING)
        if section is _MISSING:
            section = {}
        elif not isinstance(section, dict):
            raise ConfigError(f"{where}: {table} is not a table; cannot set {name}")
        current = section.get(key, _MISSING)
        if isinstance(current, dict):
            raise ConfigError(f"{where}: {name} is a table, not a value; cannot set it")
        expected[table] = {**section, key: value}
    if current is not _MISSING and _same(current, value):
        # Idempotent writes must not touch the bytes (sync reports "in sync").
        return text

    import tomlkit

    try:
        doc = tomlkit.parse(text)
        newline = "\r\n" if "\r\n" in text else "\n"
        if table is None:
            _set_in(doc, key, value, newline, is_document=True)
        elif table in doc:
            _set_in(doc[table], key, value, newline, is_document=False)
        else:
            _add_table(doc, table, key, value, newline)
        result = tomlkit.dumps(doc)
    except Exception as exc:
        # tomlkit's own bugs surface as any exception type; to the user they are
        # all "this file could not be edited", and the file must not be written.
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"{where}: could not set {name}: {reason}") from exc

    try:
        after = _parse(result, where)
    except ConfigError:
        raise ConfigError(f"{where}: setting {name} would produce invalid TOML; not written") from None
    if not _same(after, expected):
        raise ConfigError(f"{where}: setting {name} would change other keys too; not written")
    return result


def _parse(text: str, where: str) -> dict:
    import tomllib

    try:
        return tomllib.loads(text)
    except RecursionError:
        # tomllib recurses once per nesting level; a hostile file must still be
        # a one-line config error, not a traceback.
        raise ConfigError(f"{where}: invalid TOML: arrays or tables nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already ends with "(at line X, column Y)".
        raise ConfigError(f"{where}: invalid TOML: {exc}") from None


def _plain(value: object) -> bool:
    if isinstance(value, list):
        return all(_plain(v) and not isinstance(v, list) for v in value)
    return isinstance(value, str | int | float | bool)


def _new_item(value: object, old: object) -> Item:
    import tomlkit
    from tomlkit.items import String, StringType

    if not isinstance(value, str):
        return tomlkit.item(value)
    # Keep a single-quoted value single-quoted when the new value allows it, so a
    # hand-written `scope = 'x'` only changes between the quotes.
    literal_ok = "'" not in value and all(c == "\t" or " " <= c != "\x7f" for c in value)
    if isinstance(old, String) and old.type is StringType.SLL and literal_ok:
        return tomlkit.string(value, literal=True)
    return tomlkit.string(value)


def _set_in(container, key: str, value: object, newline: str, *, is_document: bool) -> None:
    from tomlkit.items import InlineTable, Table

    if key in container:
        # Assigning over an existing plain value keeps its key spelling, indent
        # and trailing comment (tomlkit copies the old item's trivia).
        container[key] = _new_item(value, container[key])
        return
    item = _new_item(value, None)
    item.trivia.trail = newline
    if is_document:
        _insert(container, key, item, newline, is_document=True)
    elif isinstance(container, Table) and not container.is_super_table():
        _insert(container.value, key, item, newline, is_document=False)
    else:
        # Inline tables, dotted-key tables, tables split across the document and
        # implicit parents of `[a.b]`: tomlkit places these correctly itself.
        if isinstance(container, InlineTable) and container:
            item.trivia.indent = " "  # `{a = 1, b = 2}`, not `{a = 1,b = 2}`
        container[key] = item


def _renders_header(key, item) -> bool:
    from tomlkit.items import AoT, Table

    if isinstance(item, AoT):
        return True
    if not isinstance(item, Table):
        return False
    if key is None or not key.is_dotted():
        return True
    # `a.b = 1` renders inline, but a dotted table whose child is a `[a.c]`
    # section renders a header, and anything placed after it would belong to it.
    return any(_renders_header(k, v) for k, v in item.value.body)


def _insert(container, key: str, item, newline: str, *, is_document: bool) -> None:
    from tomlkit.items import Comment, Whitespace

    body = container.body
    first_header = next((i for i, (k, v) in enumerate(body) if _renders_header(k, v)), len(body))
    keys_before = [i for i, (k, _) in enumerate(body[:first_header]) if k is not None]
    if keys_before:
        # Right after the last key: any comments and blank lines that follow it
        # introduce the next table and stay attached to it.
        index = keys_before[-1] + 1
        previous = body[keys_before[-1]][1]
        indent = getattr(previous, "trivia", None) and previous.trivia.indent
        if indent and not indent.strip(" \t"):
            item.trivia.indent = indent
    elif not is_document:
        # A table without keys: right under its header.
        index = 0
    elif first_header == len(body):
        # Only comments and blank lines (or nothing): add at the end.
        index = len(body)
    else:
        # No top-level keys yet: go above the comment block that sits directly on
        # the first header, and leave a blank line between us and it.
        index = first_header
        while index > 0 and isinstance(body[index - 1][1], Comment):
            index -= 1
        if not isinstance(body[index][1], Whitespace):
            item.trivia.trail = newline + newline

    if index < len(body):
        # tomlkit has no public way to insert at a position; `_insert_at` keeps its
        # key index consistent, and the result is verified by the caller anyway.
        container._insert_at(index, key, item)
    else:
        container.append(key, item)


def _add_table(doc, table: str, key: str, value: object, newline: str) -> None:
    import tomlkit

    new_table = tomlkit.table()
    item = _new_item(value, None)
    item.trivia.trail = newline
    new_table.append(key, item)
    new_table.trivia.trail = newline
    # End the last line if needed, then leave a blank line before the new section,
    # as a person would write it.
    rendered = tomlkit.dumps(doc)
    if rendered and not rendered.endswith(newline * 2):
        new_table.trivia.indent = newline if rendered.endswith(newline) else newline * 2
    doc.append(table, new_table)


def _same(a: object, b: object) -> bool:
    """Strict equality: unlike `==`, 1 is not True, NaN equals NaN, offsets must match."""
    if type(a) is not type(b):
        return False
    # `b` is of the same type as `a`; the checks on `b` only tell the type checker so.
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if hasattr(a, "utcoffset") and hasattr(b, "utcoffset"):
        # Aware datetimes at the same instant compare equal across offsets.
        return a == b and a.utcoffset() == b.utcoffset()
    return a == b
