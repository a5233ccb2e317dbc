"""Property-based tests for scope validation.

An independent oracle states the rule once: 1-128 characters of ASCII letters,
digits and `. _ - / :`, starting with a letter or digit, no `..`, no `//`.
Hypothesis then throws arbitrary text at `scope_problem`, `display`,
`normalise_identity` and the whole resolver (every source), and checks that
an invalid value is never resolved, never falls through, and is never shown
raw. (The TOML edit path has its own properties in tests/test_tomledit.py.)
"""

from __future__ import annotations

import json
import re
import string

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from ctxscope.scope import MAX_LENGTH, display, normalise_identity, scope_problem

pytestmark = pytest.mark.hardening

ALLOWED = string.ascii_letters + string.digits + "._-/:"


def oracle(value: object) -> bool:
    """The scope rules, written independently of ctxscope.scope."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 128
        and all(c in ALLOWED for c in value)
        and value[0] in string.ascii_letters + string.digits
        and ".." not in value
        and "//" not in value
    )


# Text biased towards the interesting alphabet, with some of everything else mixed in.
near_scopes = st.text(alphabet=st.sampled_from(ALLOWED + " \t\n\x00\x1b\u202eé\\\"'"), max_size=140)
valid_scopes = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}\Z", fullmatch=True).filter(
    lambda s: ".." not in s and "//" not in s
)
anything = st.one_of(
    st.text(max_size=300),
    near_scopes,
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _toml_string(value: str) -> str:
    """A TOML basic string holding exactly `value` (control characters escaped)."""
    out = []
    for c in value:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or c == "\x7f":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


_BAD = {"n": 0}


def _tried(value) -> None:
    if not oracle(value):
        _BAD["n"] += 1


@pytest.fixture(autouse=True)
def _count_bad_inputs(record_property):
    """Invalid values tried by each property, for benchmarks/reliability.py."""
    before = _BAD["n"]
    yield
    record_property("generated_bad_inputs", _BAD["n"] - before)


PROPS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPS
@given(value=anything)
@example(value="a" * 128)
@example(value="a" * 129)
@example(value="a..b")
@example(value="a//b")
@example(value=" a")
@example(value="ａ")  # a full-width letter: isalnum() but not ASCII
@example(value="٣")  # an Arabic-Indic digit: isdigit() but not ASCII
def test_validation_agrees_with_the_rule(value):
    _tried(value)
    problem = scope_problem(value)
    assert (problem is None) == oracle(value), (value, problem)
    if problem is not None:
        assert isinstance(problem, str) and problem and "\n" not in problem


@PROPS
@given(
    value=valid_scopes,
    pad=st.sampled_from([" ", "\t", "\n", "\r", "\u00a0", "\u3000"]),
    where=st.sampled_from(["start", "end", "both"]),
)
def test_surrounding_whitespace_is_an_error_never_stripped(value, pad, where):
    padded = {"start": pad + value, "end": value + pad, "both": pad + value + pad}[where]
    _tried(padded)
    assert scope_problem(value) is None
    assert scope_problem(padded) is not None


@PROPS
@given(value=valid_scopes, data=st.data())
def test_any_forbidden_piece_makes_a_valid_scope_invalid(value, data):
    piece = data.draw(
        st.sampled_from(
            ["..", "//", " ", "\x00", "\x07", "\x1b", "\x7f", "é", "\u202e", "\\", "'", '"', "$", ";", "*"]
        )
    )
    at = data.draw(st.integers(0, len(value)))
    broken = value[:at] + piece + value[at:]
    assume(len(broken) <= MAX_LENGTH)
    _tried(broken)
    assert scope_problem(broken) is not None


@PROPS
@given(value=anything, limit=st.integers(8, 200))
def test_display_is_one_safe_line(value, limit):
    shown = display(value, limit)
    assert len(shown) <= limit
    assert shown.isascii() or shown.endswith("…")
    assert all(c.isprintable() for c in shown)  # no newline, escape, bidi override, NUL


@PROPS
@given(prefix=st.text(max_size=20), identity=st.text(max_size=200))
def test_identity_normalisation_gives_a_valid_scope_or_nothing(prefix, identity):
    value = normalise_identity(prefix, identity)
    if value is not None:
        assert oracle(value)
        assert normalise_identity("", value) == value  # idempotent


@PROPS
@given(value=st.text(max_size=200).filter(lambda s: "\x00" not in s))
def test_resolver_never_uses_an_invalid_runtime_value(tmp_path_factory, value):
    """Whatever CTX_SCOPE holds: resolved only when valid, never falling through to the
    local scope below it when invalid, and never raising."""
    from ctxscope.resolver import resolve

    _tried(value)
    root = tmp_path_factory.mktemp("r")
    (root / ".ctxscope.toml").write_text('scope = "below"\n')
    res = resolve(cwd=str(root), env={"CTX_SCOPE": value}, log=False)
    if value == "":
        assert res.resolved_scope == "below"  # empty counts as unset
    elif oracle(value):
        assert (res.resolved_scope, res.resolved_from) == (value, "runtime")
    else:
        assert res.resolved_scope is None and res.state == "INVALID"
        assert res.source("runtime").state == "invalid"
        assert "\n" not in res.error.message and len(res.error.message) < 700
    json.dumps(res.to_dict())  # always serialisable


@PROPS
@given(value=st.text(max_size=200))
def test_resolver_never_uses_an_invalid_local_value(tmp_path_factory, value):
    from ctxscope.resolver import resolve

    _tried(value)
    root = tmp_path_factory.mktemp("l")
    (root / ".ctxscope.toml").write_text(f"scope = {_toml_string(value)}\n", encoding="utf-8")
    res = resolve(cwd=str(root), env={}, log=False)
    local = res.source("local")
    if oracle(value):
        assert res.resolved_scope == value and local.state == "resolved"
    else:
        assert res.resolved_scope is None and local.state == "invalid"
        assert local.origin.endswith(".ctxscope.toml:1")
        assert re.search(r"\.ctxscope\.toml:1: scope ", res.error.message)
        assert "\n" not in res.error.message


@PROPS
@given(value=st.text(max_size=150).filter(lambda s: "\x00" not in s))
def test_flag_scope_is_checked_like_every_other_source(tmp_path_factory, value):
    from ctxscope.resolver import resolve

    _tried(value)
    root = tmp_path_factory.mktemp("f")
    from ctxscope.errors import UsageError

    if oracle(value):
        res = resolve(cwd=str(root), env={"CTX_SCOPE": "env-value"}, scope=value, log=False)
        assert (res.resolved_scope, res.source("runtime").origin) == (value, "flag --scope")
    else:
        # A bad value on the flag is a usage error: the fix is to change the flag.
        with pytest.raises(UsageError, match="flag --scope"):
            resolve(cwd=str(root), env={"CTX_SCOPE": "env-value"}, scope=value, log=False)
