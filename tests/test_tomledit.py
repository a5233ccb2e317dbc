"""Tests for ctxscope.tomledit: edits keep comments and layout, and never lie."""

from __future__ import annotations

import json
import math
import tomllib
from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ctxscope.errors import ConfigError
from ctxscope.tomledit import set_table_key, set_top_level_key

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# Helpers that judge results independently of the module under test


def comments(text: str) -> Counter:
    """The multiset of comments in a TOML text, skipping `#` inside strings."""
    found: Counter = Counter()
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            end = n if end == -1 else end
            found[text[i:end].rstrip("\r")] += 1
            i = end
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            i += len(quote)
            while i < n and not text.startswith(quote, i):
                i += 2 if (c == '"' and text[i] == "\\") else 1
            i += len(quote)
        else:
            i += 1
    return found


def typed(value):
    """A comparable form of a parsed value in which 1, 1.0 and True differ, and NaN == NaN."""
    if isinstance(value, dict):
        return ("table", {k: typed(v) for k, v in value.items()})
    if isinstance(value, list):
        return ("array", [typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, repr(value))


def lines_of(text: str) -> list[str]:
    # Not str.splitlines(): that also splits on U+0085 and U+2028, which TOML
    # strings may hold raw.
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(any(line == candidate for candidate in it) for line in short)


def differing_middle(old: list[str], new: list[str]) -> tuple[list[str], list[str]]:
    """The lines that differ once the common leading and trailing lines are removed."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    return old[prefix : len(old) - suffix], new[prefix : len(new) - suffix]


def sets_key(line: str, key: str) -> bool:
    return line.lstrip().removeprefix('"dot x".').startswith(f"{key} =")


def header_index(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if line.lstrip().startswith("[") and line != "[fake]":
            return i
    return len(lines)


# Random documents

KEY = st.from_regex(r"[a-z][a-z0-9_-]{0,6}", fullmatch=True).filter(lambda k: k != "scope")
# Comments and strings may hold anything TOML allows there except control characters.
SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")),
    max_size=20,
)
COMMENT = SAFE_TEXT.map(lambda t: "#" + t)
VALUE = st.one_of(
    st.integers(-(10**9), 10**9).map(str),
    st.booleans().map(lambda b: "true" if b else "false"),
    SAFE_TEXT.map(lambda t: json.dumps(t, ensure_ascii=False)),
    SAFE_TEXT.filter(lambda t: "'" not in t).map(lambda t: f"'{t}'"),
    st.lists(st.integers(0, 99), max_size=3).map(lambda xs: "[" + ", ".join(map(str, xs)) + "]"),
    st.sampled_from(["1.5", "-0.0", "nan", "inf", "1979-05-27T07:32:00+01:00", "{ x = 1 }"]),
    # Lines inside a multi-line string that look like headers and comments must
    # be neither.
    SAFE_TEXT.filter(lambda t: '"' not in t and "\\" not in t).map(
        lambda t: f'"""\nx{t}\n[fake]\n# fake\n"""'
    ),
)
INDENT = st.sampled_from(["", "", "  ", "\t"])


@st.composite
def body_lines(draw, keys, *, allow_scope: bool):
    """Lines of one section: key/value lines (keys unique), comments and blank lines."""
    lines = []
    names = draw(st.lists(keys, unique=True, max_size=4))
    if allow_scope and draw(st.booleans()):
        names.append("scope")
    for name in names:
        trailing = draw(st.none() | COMMENT)
        line = f"{draw(INDENT)}{name} = {draw(VALUE)}"
        if trailing is not None:
            line += draw(st.sampled_from([" ", "  ", "\t"])) + trailing
        lines.append(line)
    for _ in range(draw(st.integers(0, 4))):
        extra = draw(st.one_of(st.tuples(INDENT, COMMENT).map("".join), st.just("")))
        lines.insert(draw(st.integers(0, len(lines))), extra)
    return lines


@st.composite
def documents(draw):
    """A TOML text with comments, blank lines, top-level keys, tables and arrays of tables.

    Returns the text and the names of its plain tables.
    """
    top = draw(body_lines(KEY, allow_scope=True))
    if draw(st.booleans()):
        # A dotted key with a quoted part defines the table "dot x" without a header.
        top.insert(draw(st.integers(0, len(top))), f'"dot x".k = {draw(VALUE)}')
    section_names = draw(st.lists(KEY, unique=True, max_size=4))
    top_keys = {line.split("=")[0].strip() for line in top if "=" in line and line.strip()[0] != "#"}
    section_names = [name for name in section_names if name not in top_keys]
    lines = list(top)
    later: list[str] = []
    tables = []
    for name in section_names:
        is_aot = draw(st.booleans())
        # `scope` inside a table must never be mistaken for the top-level key.
        keys = st.one_of(KEY, st.just("scope"))
        for _ in range(draw(st.integers(1, 2)) if is_aot else 1):
            header = f"[[{name}]]" if is_aot else f"[{name}]"
            comment = draw(st.none() | COMMENT)
            lines.append(header + ("" if comment is None else f"  {comment}"))
            lines.extend(draw(body_lines(keys, allow_scope=False)))
        if not is_aot:
            tables.append(name)
            if draw(st.booleans()):
                # Right after its parent, or at the end: a table split across the
                # document (tomlkit models that with a proxy object).
                sub = [f'[{name}."sub t"]', *draw(body_lines(keys, allow_scope=False))]
                (lines if draw(st.booleans()) else later).extend(sub)
    lines.extend(later)
    if any(line.startswith('"dot x"') for line in top):
        tables.append("dot x")
    text = "\n".join(lines)
    if lines and draw(st.booleans()):
        text += "\n"
    return text, tables


NEW_VALUE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
SCOPE_VALUE = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,40}", fullmatch=True)


# Property-based tests


@PROPERTY
@given(doc=documents(), value=st.one_of(SCOPE_VALUE, NEW_VALUE))
def test_set_top_level_key_keeps_everything_else(doc, value):
    text, _ = doc
    before = tomllib.loads(text)
    if isinstance(before.get("scope"), dict):
        with pytest.raises(ConfigError, match="scope is a table"):
            set_top_level_key(text, "scope", value)
        return
    result = set_top_level_key(text, "scope", value)

    after = tomllib.loads(result)
    assert after["scope"] == value
    assert typed({**before, "scope": value}) == typed(after)
    assert comments(result) == comments(text)

    old_lines, new_lines = lines_of(text), lines_of(result)
    if before.get("scope") == value:
        assert result == text
    elif "scope" in before:
        # Only the value changed: the lines around it are identical, and the one
        # new line replaces the old value's line(s), with the same key spelling.
        old_middle, new_middle = differing_middle(old_lines, new_lines)
        assert len(new_middle) == 1
        assert old_middle[0].split("=")[0] == new_middle[0].split("=")[0]
    else:
        # Nothing moved: the old lines are all there in order, plus the new key
        # line and at most one blank line separating it from a table header.
        assert is_subsequence(old_lines, new_lines)
        added = Counter(new_lines) - Counter(old_lines)
        top_region = new_lines[: header_index(new_lines)]
        scope_lines = [line for line in top_region if line.lstrip().startswith("scope =")]
        assert len(scope_lines) == 1
        assert added - Counter({"": 1}) == Counter(scope_lines)
    assert set_top_level_key(result, "scope", value) == result


@PROPERTY
@given(doc=documents(), data=st.data())
def test_set_table_key_keeps_everything_else(doc, data):
    text, tables = doc
    before = tomllib.loads(text)
    table = data.draw(st.sampled_from([*tables, "cloud-new"]), label="table")
    existing = list(before.get(table, {}))
    key = data.draw(st.sampled_from([*existing, "url"]) if existing else st.just("url"))
    value = data.draw(st.one_of(SCOPE_VALUE, NEW_VALUE), label="value")
    assume(not isinstance(before.get(table, {}).get(key), dict))

    result = set_table_key(text, table, key, value)

    after = tomllib.loads(result)
    assert after[table][key] == value
    expected = {**before, table: {**before.get(table, {}), key: value}}
    assert typed(expected) == typed(after)
    assert comments(result) == comments(text)

    old_lines, new_lines = lines_of(text), lines_of(result)
    old_value = before.get(table, {}).get(key)
    if old_value == value and type(old_value) is str:
        assert result == text
    elif old_value is not None:
        old_middle, new_middle = differing_middle(old_lines, new_lines)
        assert len(new_middle) == 1
        assert sets_key(old_middle[0], key)
        assert sets_key(new_middle[0], key)
    else:
        assert is_subsequence(old_lines, new_lines)
        added = Counter(new_lines) - Counter(old_lines)
        assert added[""] <= 1
        key_line = [line for line in added if sets_key(line, key)]
        assert len(key_line) == 1
        header = [] if table in before else [f"[{table}]"]
        assert sorted(added - Counter({"": 1})) == sorted(key_line + header)
    assert set_table_key(result, table, key, value) == result


@settings(PROPERTY, max_examples=50)
@given(doc=documents(), data=st.data())
def test_a_non_table_is_refused(doc, data):
    text, _ = doc
    if text and not text.endswith("\n"):
        text += "\n"
    text += '[["a o t"]]\nx = 1\n'
    before = tomllib.loads(text)
    not_tables = [name for name, value in before.items() if not isinstance(value, dict)]
    name = data.draw(st.sampled_from(not_tables), label="name")
    with pytest.raises(ConfigError) as info:
        set_table_key(text, name, "url", "x", path="p.toml")
    assert str(info.value) == f"p.toml: {name} is not a table; cannot set {name}.url"


@PROPERTY
@given(value=NEW_VALUE, quoted=st.booleans())
def test_any_string_value_reads_back_exactly(value, quoted):
    text = "# header\nscope = 'old'  # keep me\n\n[cloud]\nurl = \"u\"\n"
    if quoted:
        text = text.replace("'old'", '"old"')
    result = set_top_level_key(text, "scope", value)
    assert tomllib.loads(result) == {"scope": value, "cloud": {"url": "u"}}
    assert comments(result) == Counter({"# header": 1, "# keep me": 1})


# Placement: the tomlkit pitfalls, pinned


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", 'scope = "new"\n', id="empty"),
        pytest.param("# only a comment\n", '# only a comment\nscope = "new"\n', id="comment-only"),
        pytest.param("x = 1", 'x = 1\nscope = "new"\n', id="no-final-newline"),
        pytest.param(
            '[cloud]\nurl = "u"\n',
            'scope = "new"\n\n[cloud]\nurl = "u"\n',
            id="document-starts-with-a-table",
        ),
        pytest.param(
            '[[hooks]]\nrun = "a"\n',
            'scope = "new"\n\n[[hooks]]\nrun = "a"\n',
            id="document-starts-with-an-array-of-tables",
        ),
        pytest.param(
            'name = "x"  # n\n\n# cloud settings\n[cloud]\nurl = "u"\n',
            'name = "x"  # n\nscope = "new"\n\n# cloud settings\n[cloud]\nurl = "u"\n',
            id="comment-of-the-next-table-stays-with-it",
        ),
        pytest.param(
            '# cloud settings\n[cloud]\nurl = "u"\n',
            'scope = "new"\n\n# cloud settings\n[cloud]\nurl = "u"\n',
            id="no-keys-comment-on-header",
        ),
        pytest.param(
            '# file header\n\n[cloud]\nurl = "u"\n',
            '# file header\n\nscope = "new"\n\n[cloud]\nurl = "u"\n',
            id="no-keys-file-header",
        ),
        pytest.param(
            "a.b = 1\n[a.c]\nk = 2\n",
            'a.b = 1\nscope = "new"\n[a.c]\nk = 2\n',
            id="dotted-key-with-sub-table",
        ),
        pytest.param(
            "  x = 1\n\n  # c\n  [t]\n",
            '  x = 1\n  scope = "new"\n\n  # c\n  [t]\n',
            id="indentation-is-matched",
        ),
        pytest.param(
            "x = 1\r\n\r\n[t]\r\nk = 2\r\n",
            'x = 1\r\nscope = "new"\r\n\r\n[t]\r\nk = 2\r\n',
            id="crlf-is-kept",
        ),
        pytest.param(
            'desc = """\n[not-a-table]\n# not a comment\n"""\n[t]\n',
            'desc = """\n[not-a-table]\n# not a comment\n"""\nscope = "new"\n[t]\n',
            id="multi-line-string-is-not-a-header",
        ),
    ],
)
def test_new_top_level_key_placement(text, expected):
    assert set_top_level_key(text, "scope", "new") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            'scope = "old"   # the scope\nother = 1\n',
            'scope = "new"   # the scope\nother = 1\n',
            id="trailing-comment-and-spacing",
        ),
        pytest.param("scope = 'old' # lit\n", "scope = 'new' # lit\n", id="literal-stays-literal"),
        pytest.param("'scope' = \"old\"\n", "'scope' = \"new\"\n", id="quoted-key-spelling"),
        pytest.param("scope = 42  # wrong type\n", 'scope = "new"  # wrong type\n', id="non-string"),
        pytest.param(
            'a = 1\nscope="old"\nb = 2\n[t]\nscope = "table"\n',
            'a = 1\nscope="new"\nb = 2\n[t]\nscope = "table"\n',
            id="table-scope-untouched",
        ),
    ],
)
def test_existing_top_level_key_changes_only_its_value(text, expected):
    assert set_top_level_key(text, "scope", "new") == expected


def test_literal_style_falls_back_when_the_value_needs_escapes():
    result = set_top_level_key("scope = 'old'\n", "scope", "it's")
    assert result == 'scope = "it\'s"\n'
    assert tomllib.loads(result)["scope"] == "it's"


def test_same_value_returns_the_text_unchanged():
    text = "scope = 'same'   # hand-written\n"
    assert set_top_level_key(text, "scope", "same") is text
    assert set_table_key("[cloud]\nurl = 'u'\n", "cloud", "url", "u") == "[cloud]\nurl = 'u'\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", '[cloud]\nurl = "v"\n', id="empty"),
        pytest.param("a = 1", 'a = 1\n\n[cloud]\nurl = "v"\n', id="new-table-no-final-newline"),
        pytest.param("[other]\nk = 1\n\n", '[other]\nk = 1\n\n[cloud]\nurl = "v"\n', id="new-after-blank"),
        pytest.param(
            "[cloud]\nttl = 1  # c\n\n# other section\n[other]\nk = 1\n",
            '[cloud]\nttl = 1  # c\nurl = "v"\n\n# other section\n[other]\nk = 1\n',
            id="comment-of-the-next-table-stays-with-it",
        ),
        pytest.param(
            '[cloud]\n# url = "example"\n\n[other]\n',
            '[cloud]\nurl = "v"\n# url = "example"\n\n[other]\n',
            id="keyless-table-gets-key-under-header",
        ),
        pytest.param(
            "[cloud]\nttl = 1\n\n# sub\n[cloud.sub]\nx = 1\n",
            '[cloud]\nttl = 1\nurl = "v"\n\n# sub\n[cloud.sub]\nx = 1\n',
            id="before-sub-table",
        ),
        pytest.param(
            "[cloud.sub]\nx = 1\n",
            '[cloud]\nurl = "v"\n\n[cloud.sub]\nx = 1\n',
            id="implicit-parent-gets-a-header",
        ),
        pytest.param(
            "cloud.ttl = 1\n[t]\nk = 1\n",
            'cloud.ttl = 1\ncloud.url = "v"\n[t]\nk = 1\n',
            id="dotted-keys-stay-dotted",
        ),
        pytest.param(
            "cloud = {ttl = 1}  # inline\n",
            'cloud = {ttl = 1, url = "v"}  # inline\n',
            id="inline-table",
        ),
        pytest.param(
            "[cloud]\nttl = 1\n[other]\nk = 1\n[cloud.sub]\nx = 1\n",
            '[cloud]\nttl = 1\nurl = "v"\n[other]\nk = 1\n[cloud.sub]\nx = 1\n',
            id="table-split-across-the-document",
        ),
        pytest.param('[cloud]\nurl = "old"  # was\n', '[cloud]\nurl = "v"  # was\n', id="existing-key"),
        pytest.param(
            "[cloud]\nurl = 'u'  # c\n[other]\n[cloud.sub]\nx = 1\n",
            "[cloud]\nurl = 'v'  # c\n[other]\n[cloud.sub]\nx = 1\n",
            id="existing-key-in-a-split-table",
        ),
        pytest.param("cloud.url = 'u'  # c\n", "cloud.url = 'v'  # c\n", id="existing-dotted-key"),
        pytest.param("cloud = {url = 'u'}  # c\n", "cloud = {url = 'v'}  # c\n", id="existing-inline-key"),
    ],
)
def test_set_table_key_placement(text, expected):
    assert set_table_key(text, "cloud", "url", "v") == expected


# Errors


def test_invalid_toml_names_the_file_line_and_column():
    text = 'a = 1\nscope = "unterminated\n'
    with pytest.raises(ConfigError) as info:
        set_top_level_key(text, "scope", "x", path="/repo/.ctxscope.toml")
    message = str(info.value)
    assert message.startswith("/repo/.ctxscope.toml: invalid TOML: ")
    assert "(at line 2, column" in message
    assert "\n" not in message


def test_a_document_nested_too_deeply_is_a_config_error():
    text = "a = " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(ConfigError, match="nested too deeply") as info:
        set_top_level_key(text, "scope", "x", path="deep.toml")
    assert str(info.value).startswith("deep.toml: ")


def test_invalid_toml_in_set_table_key():
    with pytest.raises(ConfigError, match=r"at line 1, column \d+"):
        set_table_key("[cloud\n", "cloud", "url", "x")


@pytest.mark.parametrize("text", ["scope = { a = 1 }\n", "[scope]\na = 1\n", "scope.a = 1\n"])
def test_refuses_to_overwrite_a_table_with_a_string(text):
    with pytest.raises(ConfigError, match="scope is a table") as info:
        set_top_level_key(text, "scope", "x", path="cfg.toml")
    assert str(info.value).startswith("cfg.toml: ")


@pytest.mark.parametrize("text", ["cloud = 1\n", "cloud = [1]\n", "[[cloud]]\nurl = 'u'\n"])
def test_set_table_key_refuses_a_non_table(text):
    with pytest.raises(ConfigError, match="cloud is not a table"):
        set_table_key(text, "cloud", "url", "x")


def test_set_table_key_refuses_to_overwrite_a_sub_table():
    with pytest.raises(ConfigError, match=r"cloud\.url is a table"):
        set_table_key("[cloud.url]\nx = 1\n", "cloud", "url", "x")


def test_non_string_value_is_a_programming_error():
    with pytest.raises(TypeError):
        set_top_level_key("", "scope", 5)  # type: ignore[arg-type]


def test_a_result_that_changes_other_keys_is_never_returned(monkeypatch):
    import tomlkit

    real_dumps = tomlkit.dumps
    monkeypatch.setattr(tomlkit, "dumps", lambda doc: real_dumps(doc).replace("1", "2"))
    with pytest.raises(ConfigError, match="would change other keys too"):
        set_top_level_key("a = 1\n", "scope", "x", path="p.toml")


def test_a_result_that_is_not_toml_is_never_returned(monkeypatch):
    import tomlkit

    real_dumps = tomlkit.dumps
    monkeypatch.setattr(tomlkit, "dumps", lambda doc: real_dumps(doc) + "[broken\n")
    with pytest.raises(ConfigError, match="would produce invalid TOML"):
        set_top_level_key("a = 1\n", "scope", "x")


def test_a_result_with_the_wrong_value_type_is_never_returned(monkeypatch):
    import tomlkit

    real_dumps = tomlkit.dumps
    # 1 == True in Python; the check must still see the change.
    monkeypatch.setattr(tomlkit, "dumps", lambda doc: real_dumps(doc).replace("= 1", "= true"))
    with pytest.raises(ConfigError, match="would change other keys too"):
        set_top_level_key("a = 1\n", "scope", "x")


def test_a_tomlkit_failure_becomes_a_one_line_config_error(monkeypatch):
    import tomlkit

    def broken(text):
        raise RuntimeError("internal\nerror")

    monkeypatch.setattr(tomlkit, "parse", broken)
    with pytest.raises(ConfigError) as info:
        set_table_key("a = 1\n", "cloud", "url", "x", path="p.toml")
    assert str(info.value) == "p.toml: could not set cloud.url: internal error"
