"""Bad local and runtime input, through the installed command.

Each case: the documented exit code, one `ctxscope: error:` line naming the
file, line and column where there is one, nothing on stdout for `resolve`, no
traceback, no raw control character reaching the terminal, and every file
left exactly as it was (bytes, mtime, mode).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _hardening import (
    CANARY,
    assert_clean_failure,
    call,
    env_with,
    error_lines,
    run,
    snapshot,
    tree_snapshot,
    warning_lines,
)

pytestmark = pytest.mark.hardening

# (document, "line:column" the error must name). Positions are tomllib's, plus the
# end of the file for errors tomllib reports "at end of document".
TOML_ERRORS = {
    "newline inside a string": ('scope = "a\n', "1:11"),
    "unclosed array at the end": ('scope = "a"\nfoo = [\n', "3:1"),
    "unclosed table header": ('scope = "a"\n[policy\n', "2:8"),
    "key given twice": ('scope = "a"\nscope = "b"\n', "2:12"),
    "missing value": ("scope = \n", "1:9"),
    "missing key": ('= "a"\n', "1:1"),
    "junk after a value": ('scope = "a" junk\n', "1:13"),
    "unterminated string, no final newline": ('scope = "a', "1:11"),
    "table declared twice": ('[fallback]\npolicy = "fail"\n[fallback]\n', "3:10"),
    "unterminated multi-line string": ('scope = """a\n', "2:1"),
    "bad escape": ('scope = "\\q"\n', "1:12"),
    "byte order mark": ('\ufeffscope = "a"\n', "1:1"),
    "error after blank lines": ('scope = "a"\n\n\n   x = \n', "4:8"),
}


def _assert_untouched(before: dict, root) -> None:
    assert tree_snapshot(root) == before


@pytest.mark.parametrize("case", sorted(TOML_ERRORS))
@pytest.mark.parametrize("where", ["project", "user"])
def test_toml_syntax_error_names_file_line_column(project, user_config, case, where, record_property):
    text, position = TOML_ERRORS[case]
    path = project / ".ctxscope.toml" if where == "project" else user_config
    path.write_text(text, encoding="utf-8")
    before = tree_snapshot(path.parent)
    record_property("bad_inputs", 1)

    resolved = run(["resolve"], cwd=project)
    assert_clean_failure(resolved, 1, f"{path}:{position}: invalid TOML")

    check = call(["status", "--check", "--json"], cwd=project)
    assert check.returncode == 1
    data = json.loads(check.stdout)
    assert data["state"] == "INVALID" and data["reasons"] == ["local_invalid"]
    [local] = [s for s in data["sources"] if s["source"] == "local"]
    assert local["state"] == "unreadable" and f"{path}:{position}:" in local["problem"]

    shown = call(["status"], cwd=project)  # status shows the state: exit 0
    assert shown.returncode == 0 and "INVALID" in shown.stdout and position in shown.stdout
    assert call(["diff"], cwd=project).returncode == 1
    _assert_untouched(before, path.parent)


@pytest.mark.parametrize(
    "text",
    ["scope = " + "[" * 5000 + "]" * 5000 + "\n", "scope = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n"],
)
def test_toml_nested_too_deeply(project, text, record_property):
    path = project / ".ctxscope.toml"
    path.write_text(text)
    before = tree_snapshot(project)
    record_property("bad_inputs", 1)
    assert_clean_failure(run(["resolve"], cwd=project), 1, f"{path}: invalid TOML", "nested too deeply")
    assert call(["status", "--check"], cwd=project).returncode == 1
    _assert_untouched(before, project)


WRONG_TYPES = {
    "integer": ("scope = 3\n", "an integer"),
    "float": ("scope = 1.5\n", "a number"),
    "boolean": ("scope = true\n", "a boolean"),
    "array": ('scope = ["a", "b"]\n', "an array"),
    "inline table": ('scope = { name = "a" }\n', "a table"),
    "table": ('[scope]\nname = "a"\n', "a table"),
    "array of tables": ('[[scope]]\nname = "a"\n', "an array"),
    "date": ("scope = 1979-05-27\n", "date"),
}


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_scope_of_the_wrong_type(project, case, record_property):
    text, kind = WRONG_TYPES[case]
    path = project / ".ctxscope.toml"
    path.write_text(text)
    before = tree_snapshot(project)
    record_property("bad_inputs", 1)
    line = assert_clean_failure(run(["resolve"], cwd=project), 1, f"{path}:1", "must be a string", kind)
    assert "Traceback" not in line
    check = call(["status", "--check", "--json"], cwd=project)
    assert check.returncode == 1
    assert json.loads(check.stdout)["reasons"] == ["local_invalid"]
    _assert_untouched(before, project)


# Invalid scope values (the scope rules), as TOML basic-string bodies and as the
# real string they stand for, with the reason the error must give.
INVALID_SCOPES = {
    "space inside": ("a b", "not allowed"),
    "leading space": (" a", "surrounding whitespace"),
    "trailing space": ("a ", "surrounding whitespace"),
    "trailing tab": ("a\t", "surrounding whitespace"),
    "trailing newline": ("a\n", "surrounding whitespace"),
    "dot-dot": ("a/../b", "'..'"),
    "dot-dot alone": ("a..b", "'..'"),
    "double slash": ("a//b", "'//'"),
    "bell": ("a\x07b", "not allowed"),
    "escape sequence": ("a\x1b[31mred", "not allowed"),
    "delete": ("a\x7fb", "not allowed"),
    "right-to-left override": ("a\u202eb", "not allowed"),
    "non-ascii letter": ("café", "not allowed"),
    "129 characters": ("a" * 129, "129 characters"),
    "1000 characters": ("b" * 1000, "1000 characters"),
    "empty": ("", "is empty"),
    "starts with a dash": ("-a", "start with a letter or digit"),
    "starts with a dot": (".a", "start with a letter or digit"),
    "starts with a slash": ("/a", "start with a letter or digit"),
    "backslash": ("a\\b", "not allowed"),
    "quote": ('a"b', "not allowed"),
    "shell metacharacters": ("a;rm -rf", "not allowed"),
}


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string with \\uXXXX escapes is a valid TOML basic string


def _no_raw_controls(*texts: str) -> None:
    for text in texts:
        assert not any(c in text for c in "\x07\x1b\x7f\u202e"), repr(text)


@pytest.mark.parametrize("case", sorted(INVALID_SCOPES))
def test_invalid_scope_in_the_project_file(project, case, record_property):
    value, reason = INVALID_SCOPES[case]
    path = project / ".ctxscope.toml"
    path.write_text(f"# linked\nscope = {_toml_string(value)}\n")
    before = tree_snapshot(project)
    record_property("bad_inputs", 1)
    result = run(["resolve"], cwd=project)
    assert_clean_failure(result, 1, f"{path}:2", reason)
    _no_raw_controls(result.stderr)
    shown = call(["status"], cwd=project)
    assert shown.returncode == 0 and "INVALID" in shown.stdout
    _no_raw_controls(shown.stdout, shown.stderr)
    data = json.loads(call(["status", "--json"], cwd=project).stdout)
    [local] = [s for s in data["sources"] if s["source"] == "local"]
    assert local["state"] == "invalid" and local["value"] is None and len(local["raw"]) <= 128
    _assert_untouched(before, project)


@pytest.mark.parametrize("case", sorted(INVALID_SCOPES))
def test_invalid_scope_in_the_user_config(project, user_config, case, record_property):
    value, reason = INVALID_SCOPES[case]
    user_config.write_text(f"scope = {_toml_string(value)}\n")
    before = snapshot(user_config)
    record_property("bad_inputs", 1)
    result = call(["resolve"], cwd=project)  # the project-file variant runs as a process
    assert_clean_failure(result, 1, f"{user_config}:1", reason)
    _no_raw_controls(result.stderr)
    assert snapshot(user_config) == before


ENV_SAFE = {k: v for k, v in INVALID_SCOPES.items() if "\x00" not in v[0]}


@pytest.mark.parametrize("case", sorted(ENV_SAFE))
def test_invalid_ctx_scope(project, case, log_file, record_property):
    value, reason = INVALID_SCOPES[case]
    (project / ".ctxscope.toml").write_text('scope = "fine"\n')
    before = tree_snapshot(project)
    record_property("bad_inputs", 1)
    env = env_with(CTX_SCOPE=value)
    if value == "":
        # An empty variable counts as unset: the local scope resolves.
        result = run(["resolve"], cwd=project, env=env)
        assert (result.returncode, result.stdout) == (0, "fine\n")
        return
    result = run(["resolve"], cwd=project, env=env)
    assert_clean_failure(result, 1, "env CTX_SCOPE", reason)
    _no_raw_controls(result.stderr)
    data = json.loads(call(["status", "--json"], cwd=project, env=env).stdout)
    assert data["state"] == "INVALID" and data["resolved_scope"] is None  # never falls through
    assert "runtime_invalid" in data["reasons"]
    # The drift log keeps the raw value escaped and cut; the scope field is null.
    event = json.loads(log_file.read_text().splitlines()[-1])
    assert event["runtime_scope"] is None and len(event["drift_snapshot"]["invalid"]["runtime"]) <= 128
    _no_raw_controls(log_file.read_text())
    _assert_untouched(before, project)


@pytest.mark.parametrize("case", ["space inside", "129 characters", "empty", "dot-dot", "escape sequence"])
def test_invalid_scope_flag(project, case, record_property):
    value, reason = INVALID_SCOPES[case]
    record_property("bad_inputs", 1)
    result = run(["resolve", "--scope", value], cwd=project)
    # A bad flag value is a usage error (2), and the hint is to change the flag.
    assert_clean_failure(result, 2, "flag --scope", reason)
    assert "change the --scope value" in result.stderr
    _no_raw_controls(result.stderr)


@pytest.mark.parametrize("case", ["space inside", "double slash", "129 characters"])
def test_invalid_fallback_project(project, case, record_property):
    value, reason = INVALID_SCOPES[case]
    path = project / ".ctxscope.toml"
    path.write_text(f'[fallback]\npolicy = "project"\nproject = {_toml_string(value)}\n')
    record_property("bad_inputs", 1)
    assert_clean_failure(run(["resolve"], cwd=project), 1, f"{path}:3", "[fallback] project", reason)


# --- a token written in a config file: exit 1 for every command -----------------------

# Each command with the arguments it needs to get past usage checks.
COMMANDS = {
    "status": [["status"], ["status", "--json"], ["status", "--check"]],
    "resolve": [["resolve"], ["resolve", "--json"], ["resolve", "--scope", "x"]],
    "diff": [["diff"], ["diff", "--json"]],
    "trust": [["trust"], ["trust", "--revoke"]],
    "sync": [
        ["sync", "--direction", "runtime-to-local", "--scope", "x", "--yes"],
        ["sync", "--direction", "resolved-to-cloud", "--scope", "x", "--yes"],
    ],
    "repair": [["repair", "--to", "x", "--yes"], ["repair", "--to", "x", "--shell", "bash"]],
    "init": [["init", "--scope", "x"]],
    "config": [["config"], ["config", "cloud.url"]],
    "log": [["log"]],
    "ps": [["ps"]],
    "exec": [["exec", "--", "true"], ["exec", "--dry-run", "--", "true"]],
    "whoami": [["whoami"]],
    "undo": [["undo", "--dry-run"]],
    "metrics": [["metrics"], ["metrics", "--output", "out.prom"]],
    "serve": [["serve", "--port", "0"]],
}

# Commands that do not exit 1, and why; each has its own test below.
NOT_FAILING = {
    "hook": "prints a fixed shell snippet and reads no config",
    "prompt": "runs inside PS1: shows the '!' mark, never the scope, exit 0 (its contract)",
    "mcp": "a server: each tool call answers with the error (exit_code 1), see below",
    "completion": "prints the shipped completion script and reads no config",
}


def _registered_commands() -> list[str]:
    from ctxscope.cli import app

    return sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def _command_cases():
    for name in _registered_commands():
        if name in NOT_FAILING:
            continue
        for args in COMMANDS.get(name, [[name]]):
            yield pytest.param(args, id=" ".join(args))


SECRET_FILES = {
    "project token": ("project", 'scope = "a"\ntoken = "{t}"\n', "2", "token"),
    "project [cloud] token": ("project", 'scope = "a"\n[cloud]\ntoken = "{t}"\n', "3", "cloud.token"),
    "project api_key": ("project", '[cloud]\napi_key = "{t}"\n', "2", "cloud.api_key"),
    "user [cloud] token": ("user", '[cloud]\nurl = "https://x.invalid"\ntoken = "{t}"\n', "3", "cloud.token"),
    "user password": ("user", 'password = "{t}"\n', "1", "password"),
    "user secret": ("user", '[cloud]\nsecret = "{t}"\n', "2", "cloud.secret"),
}


# Every command runs as a real process for these two; in-process for the others.
IN_A_PROCESS = ("project [cloud] token",)


@pytest.mark.parametrize("args", list(_command_cases()))
@pytest.mark.parametrize("case", sorted(SECRET_FILES))
def test_token_in_a_config_file_fails_every_command(project, user_config, args, case, record_property):
    where, template, line, key = SECRET_FILES[case]
    path = project / ".ctxscope.toml" if where == "project" else user_config
    path.write_text(template.format(t=CANARY))
    before = tree_snapshot(project), tree_snapshot(user_config.parent)
    record_property("bad_inputs", 1)
    env = env_with(CTX_SCOPE="x")
    if case in IN_A_PROCESS:
        result = run(args, cwd=project, env=env, timeout=30)
    else:
        result = call(args, cwd=project, env=env)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    [line_text] = error_lines(result.stderr)
    assert f"{path}:{line}" in line_text and key in line_text and "CTXSCOPE_TOKEN" in line_text
    assert CANARY not in result.stdout + result.stderr
    assert (tree_snapshot(project), tree_snapshot(user_config.parent)) == before


def test_every_command_is_in_the_token_table():
    """A new command must be added to COMMANDS with the arguments it needs."""
    missing = [n for n in _registered_commands() if n not in COMMANDS and n not in NOT_FAILING]
    assert not missing, f"add {missing} to COMMANDS in {__file__}"


@pytest.mark.parametrize("case", sorted(SECRET_FILES))
def test_token_in_a_config_file_mcp_prompt_hook(project, user_config, case, monkeypatch, record_property):
    where, template, line, key = SECRET_FILES[case]
    path = project / ".ctxscope.toml" if where == "project" else user_config
    path.write_text(template.format(t=CANARY))
    record_property("bad_inputs", 1)
    names = _registered_commands()
    if "mcp" in names:
        from ctxscope.mcp_server import answer, resolve_answer, status_answer

        for tool in (resolve_answer, status_answer):
            obj, is_error = answer(tool, cwd=str(project))
            assert is_error and obj["error"]["exit_code"] == 1
            assert f"{path}:{line}" in obj["error"]["message"] and key in obj["error"]["message"]
            assert CANARY not in json.dumps(obj)
    if "prompt" in names:
        result = run(["prompt"], cwd=project, env=env_with(CTX_SCOPE="x"))
        assert (result.returncode, result.stdout) == (0, "!\n") and "Traceback" not in result.stderr
        assert CANARY not in result.stderr
    if "hook" in names:
        result = call(["hook", "bash"], cwd=project)
        assert result.returncode == 0 and CANARY not in result.stdout + result.stderr
    if "completion" in names:
        result = call(["completion", "bash"], cwd=project)
        assert result.returncode == 0 and CANARY not in result.stdout + result.stderr


# --- unknown keys: a warning, the command works ------------------------------------------


def test_unknown_keys_are_warnings(project, user_config, record_property):
    path = project / ".ctxscope.toml"
    path.write_text('scope = "a"\nscoep = "typo"\n[policy]\nmode = "local"\nmood = "x"\n')
    user_config.write_text("[cloud]\ntimeuot = 5\n")
    before = tree_snapshot(project)
    record_property("bad_inputs", 3)
    result = run(["resolve"], cwd=project)
    assert (result.returncode, result.stdout) == (0, "a\n")
    warnings = warning_lines(result.stderr)
    assert any(f"{path}:2" in w and "scoep" in w for w in warnings)
    assert any(f"{path}:5" in w and "policy.mood" in w for w in warnings)
    assert any(f"{user_config}:2" in w and "cloud.timeuot" in w for w in warnings)
    assert not error_lines(result.stderr)
    _assert_untouched(before, project)


# --- files that cannot be read ------------------------------------------------------------


def _make_bad_file(path: Path, kind: str) -> str:
    """Create the bad thing at `path`; return what the error must say."""
    if kind == "a directory":
        path.mkdir()
        return "is a directory"
    if kind == "a dangling symlink":
        path.symlink_to(path.parent / "does-not-exist.toml")
        return "cannot be read"
    if kind == "a symlink to itself":
        path.symlink_to(path.name)
        return "symbolic links"
    if kind == "a FIFO":
        os.mkfifo(path)
        return "not a regular file"
    if kind == "a symlink to /dev/zero":
        path.symlink_to("/dev/zero")
        return "not a regular file"
    if kind == "not UTF-8":
        path.write_bytes(b'# ok\nscope = "caf\xe9"\n')
        return ":2:13: is not valid UTF-8"
    if kind == "UTF-16":
        path.write_bytes('scope = "a"\n'.encode("utf-16"))
        return ":1:1: is not valid UTF-8"
    if kind == "unreadable (mode 000)":
        if os.geteuid() == 0:
            pytest.skip(
                "root reads mode-000 files; the FIFO, directory and device cases "
                "cover unreadable files as root"
            )
        path.write_text('scope = "a"\n')
        path.chmod(0)
        return "Permission denied"
    raise AssertionError(kind)


BAD_FILES = [
    "a directory",
    "a dangling symlink",
    "a symlink to itself",
    "a FIFO",
    "a symlink to /dev/zero",
    "not UTF-8",
    "UTF-16",
    "unreadable (mode 000)",
]


@pytest.mark.parametrize("kind", BAD_FILES)
@pytest.mark.parametrize("where", ["project", "user"])
def test_config_file_that_cannot_be_read(project, user_config, kind, where, record_property):
    path = project / ".ctxscope.toml" if where == "project" else user_config
    reason = _make_bad_file(path, kind)
    before = tree_snapshot(path.parent)
    record_property("bad_inputs", 1)
    try:
        result = run(["resolve"], cwd=project, timeout=20)  # a FIFO must not block
        line = assert_clean_failure(result, 1, str(path), reason)
        status = run(["status", "--check"], cwd=project, timeout=20)
        assert status.returncode == 1 and "INVALID" in status.stdout
        assert line
        assert tree_snapshot(path.parent) == before
    finally:
        if kind == "unreadable (mode 000)":
            path.chmod(0o600)


def test_user_config_named_by_ctxscope_config_that_is_a_fifo(project, tmp_path, record_property):
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    record_property("bad_inputs", 1)
    result = run(["resolve"], cwd=project, env=env_with(CTXSCOPE_CONFIG=str(fifo)), timeout=20)
    assert_clean_failure(result, 1, str(fifo), "not a regular file")


# --- walking up ------------------------------------------------------------------------------


def test_walk_up_through_a_symlink_loop(project, record_property):
    """Directories that link back to their parents: the walk-up is lexical and ends."""
    (project / ".ctxscope.toml").write_text('scope = "looped"\n')
    sub = project / "sub"
    sub.mkdir()
    (sub / "loop").symlink_to("..")  # sub/loop -> repo/ ... -> sub/loop -> ...
    (project / "self").symlink_to(".")
    record_property("bad_inputs", 1)
    deep = sub / "loop" / "sub" / "loop" / "self" / "self" / "sub" / "loop" / "sub"
    assert deep.is_dir()
    result = run(["resolve"], cwd=deep, timeout=20)
    assert (result.returncode, result.stdout) == (0, "looped\n")

    from ctxscope.resolver import resolve

    res = resolve(cwd=str(deep), log=False, env={})
    assert res.resolved_scope == "looped"
    assert res.source("local").origin.endswith(".ctxscope.toml:1")


def test_walk_up_from_a_very_deep_directory(project, record_property):
    (project / ".ctxscope.toml").write_text('scope = "deep"\n')
    deep = project
    for _ in range(60):
        deep = deep / "d"
    deep.mkdir(parents=True)
    record_property("bad_inputs", 1)
    result = run(["resolve"], cwd=deep)
    assert (result.returncode, result.stdout) == (0, "deep\n")


def test_project_file_that_is_a_symlink_loop_stops_the_walk(project, tmp_path, record_property):
    """The nearest file is the project file even when broken: no falling through to a parent's."""
    (project / ".ctxscope.toml").write_text('scope = "parent"\n')
    child = project / "child"
    child.mkdir()
    (child / ".ctxscope.toml").symlink_to(".ctxscope.toml")
    record_property("bad_inputs", 1)
    assert_clean_failure(run(["resolve"], cwd=child), 1, str(child / ".ctxscope.toml"))


# --- several runtime env names disagreeing -----------------------------------------------------


@pytest.fixture
def three_names(user_config):
    user_config.write_text('[runtime]\nenv = ["CTX_SCOPE", "AGENT_SCOPE", "MEM_SCOPE"]\n')
    return user_config


def test_several_env_names_first_set_wins_and_the_others_are_drift(
    project, three_names, log_file, record_property
):
    env = env_with(CTX_SCOPE="alpha", AGENT_SCOPE="beta", MEM_SCOPE="alpha")
    record_property("bad_inputs", 1)
    resolved = run(["resolve"], cwd=project, env=env)
    assert (resolved.returncode, resolved.stdout) == (0, "alpha\n")
    assert any("runtime_mismatch" in w for w in warning_lines(resolved.stderr))

    data = json.loads(run(["status", "--json"], cwd=project, env=env).stdout)
    assert data["state"] == "DRIFTED" and data["resolved_from"] == "runtime"
    assert data["reasons"] == ["runtime_mismatch"] and data["actions"] == ["repair"]
    [runtime] = [s for s in data["sources"] if s["source"] == "runtime"]
    assert runtime["origin"] == "env CTX_SCOPE" and runtime["value"] == "alpha"
    [problem] = data["problems"]
    assert "AGENT_SCOPE='beta'" in problem["detail"] and "CTX_SCOPE='alpha'" in problem["detail"]

    assert run(["status", "--check"], cwd=project, env=env).returncode == 3
    assert run(["diff"], cwd=project, env=env).returncode == 3
    [event] = [json.loads(x) for x in log_file.read_text().splitlines()]
    assert event["reason"] == "runtime_mismatch" and event["runtime_scope"] == "alpha"


def test_several_env_names_empty_first_counts_as_unset(project, three_names, record_property):
    env = env_with(CTX_SCOPE="", AGENT_SCOPE="beta")
    record_property("bad_inputs", 1)
    data = json.loads(run(["status", "--json"], cwd=project, env=env).stdout)
    assert data["resolved_scope"] == "beta" and data["state"] == "SYNCED"
    [runtime] = [s for s in data["sources"] if s["source"] == "runtime"]
    assert runtime["origin"] == "env AGENT_SCOPE"


def test_several_env_names_first_invalid_stops_resolution(project, three_names, record_property):
    env = env_with(CTX_SCOPE="bad value", AGENT_SCOPE="beta")
    record_property("bad_inputs", 1)
    assert_clean_failure(run(["resolve"], cwd=project, env=env), 1, "env CTX_SCOPE")
    data = json.loads(run(["status", "--json"], cwd=project, env=env).stdout)
    assert data["state"] == "INVALID" and data["resolved_scope"] is None
    assert {"runtime_invalid", "runtime_mismatch"} <= set(data["reasons"])


def test_several_env_names_flag_beats_them_all(project, three_names, record_property):
    env = env_with(CTX_SCOPE="alpha", AGENT_SCOPE="beta")
    record_property("bad_inputs", 1)
    data = json.loads(run(["status", "--json", "--scope", "gamma"], cwd=project, env=env).stdout)
    assert data["resolved_scope"] == "gamma" and "runtime_mismatch" in data["reasons"]


@pytest.mark.parametrize(
    "value, problem",
    [
        ('"CTX_SCOPE"', "list"),
        ("[]", "non-empty list"),
        ('["NOT-A-NAME"]', "environment variable names"),
        ('["CTX_SCOPE", 3]', "environment variable names"),
    ],
)
def test_runtime_env_setting_of_the_wrong_shape(project, user_config, value, problem, record_property):
    user_config.write_text(f"[runtime]\nenv = {value}\n")
    record_property("bad_inputs", 1)
    assert_clean_failure(
        run(["resolve"], cwd=project, env=env_with(CTX_SCOPE="a")),
        1,
        f"{user_config}:2",
        "runtime.env",
        problem,
    )
