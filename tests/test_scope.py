"""Scope validation (the scope rules) and identity normalisation."""

from __future__ import annotations

import pytest

from ctxscope.scope import display, is_valid_scope, normalise_identity, scope_problem


@pytest.mark.parametrize(
    "value",
    [
        "a",
        "workout",
        "Zentygo",
        "org/team:proj.v2_x-y",
        "9lives",
        "a" * 128,
        "a/b",
        "a:b",
    ],
)
def test_valid(value):
    assert scope_problem(value) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        (" a", "surrounding whitespace"),
        ("a\n", "surrounding whitespace"),
        ("a b", "not allowed"),
        ("a\x00b", "not allowed"),
        ("a" * 129, "129 characters"),
        ("-a", "start with a letter or digit"),
        (".a", "start with a letter or digit"),
        ("a..b", "'..'"),
        ("a//b", "'//'"),
        ("é", "not allowed"),
        (3, "must be a string, not an integer"),
        (True, "not a boolean"),
        (["a"], "not an array"),
    ],
)
def test_invalid(value, reason):
    problem = scope_problem(value)
    assert problem is not None and reason.replace("not a boolean", "a boolean") in problem


def test_display_escapes_and_cuts():
    assert display("a\x1b[31mb") == "a\\x1b[31mb"
    assert len(display("x" * 500)) == 128


@pytest.mark.parametrize(
    ("prefix", "identity", "expected"),
    [
        ("user-", "Jane.Doe@Example.com", "user-jane.doe-example.com"),
        ("", "..//weird..", "weird"),
        ("", "@@@", None),
    ],
)
def test_normalise_identity(prefix, identity, expected):
    assert normalise_identity(prefix, identity) == expected
    if expected:
        assert is_valid_scope(expected)


def test_loggable_and_shown_are_the_one_rendering_of_a_value():
    from ctxscope.scope import loggable, shown

    assert loggable(None) is None
    assert loggable("team/app:v1") == "team/app:v1"
    assert loggable("a\nb") == "a\\nb" and loggable(42) == "42"
    assert shown(None) == "(unset)"
    assert shown("workout") == "'workout'"
    assert shown("a\x1b[2Jb") == repr("a\\x1b[2Jb")  # escaped: no terminal control
    assert shown("x" * 500) == repr("x" * 127 + "…")
