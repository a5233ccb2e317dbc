"""Observed sources: presets (with their documented names), env and JSON/TOML file
observers, maps, the trust gate, the path fence, and how they fold into a Resolution.

Everything is real: environment variables set with monkeypatch, files written in
tmp_path, the resolver run end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ctxscope.resolver import resolve
from ctxscope.trust import trust_file


@pytest.fixture
def repo(project):
    """A repository (it has .git) linked to scope 'workout'."""
    (project / ".git").mkdir()
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    return project


def observed(res, name):
    return next(o for o in res.observed if o.name == name)


def write_user(user_config, text):
    user_config.write_text(text)


# --- presets: the names each tool documents ------------------------------------------


def test_langsmith_current_and_older_variable(repo, user_config, monkeypatch):
    write_user(
        user_config, '[[observe.sources]]\npreset = "langsmith"\nmap = { workout = "workout-traces" }\n'
    )
    monkeypatch.setenv("LANGCHAIN_PROJECT", "workout-traces")  # older SDKs
    res = resolve()
    row = observed(res, "langsmith")
    assert (row.value, row.origin, row.state) == ("workout-traces", "env LANGCHAIN_PROJECT", "in_sync")
    assert row.expected == "workout-traces"
    monkeypatch.setenv("LANGSMITH_PROJECT", "other-traces")  # the current name wins
    row = observed(resolve(), "langsmith")
    assert (row.value, row.origin, row.state) == ("other-traces", "env LANGSMITH_PROJECT", "drifted")


@pytest.mark.parametrize(
    ("preset", "variable"),
    [
        ("openai", "OPENAI_PROJECT_ID"),
        ("wandb", "WANDB_PROJECT"),
        ("phoenix", "PHOENIX_PROJECT"),
        ("phoenix", "PHOENIX_PROJECT_NAME"),
        ("google-cloud", "GOOGLE_CLOUD_PROJECT"),
        ("sentry", "SENTRY_PROJECT"),
        ("basic-memory-env", "BASIC_MEMORY_MCP_PROJECT"),
        ("basic-memory-env", "BASIC_MEMORY_DEFAULT_PROJECT"),
        ("graphiti", "GRAPHITI_GROUP_ID"),
    ],
)
def test_env_presets_read_the_documented_variable(repo, user_config, monkeypatch, preset, variable):
    write_user(user_config, f'observe = ["{preset}"]\n')
    monkeypatch.setenv(variable, "workout")
    row = observed(resolve(), preset)
    assert (row.value, row.origin, row.state) == ("workout", f"env {variable}", "in_sync")
    assert row.extra["preset"] == preset


def test_phoenix_canonical_name_beats_alias(repo, user_config, monkeypatch):
    write_user(user_config, 'observe = ["phoenix"]\n')
    monkeypatch.setenv("PHOENIX_PROJECT_NAME", "old")
    monkeypatch.setenv("PHOENIX_PROJECT", "workout")
    assert observed(resolve(), "phoenix").origin == "env PHOENIX_PROJECT"


def test_vercel_preset_reads_the_linked_project_file(repo, user_config):
    (repo / ".vercel").mkdir()
    (repo / ".vercel" / "project.json").write_text(json.dumps({"orgId": "team_1", "projectId": "prj_abc123"}))
    write_user(user_config, '[[observe.sources]]\npreset = "vercel"\nmap = { workout = "prj_abc123" }\n')
    sub = repo / "src" / "deep"
    sub.mkdir(parents=True)
    row = observed(resolve(cwd=str(sub)), "vercel")  # relative to the repository root
    assert (row.value, row.state, row.expected) == ("prj_abc123", "in_sync", "prj_abc123")
    assert row.origin.endswith(".vercel/project.json: projectId")


def test_basic_memory_mcp_constraint_beats_the_default_project_variable(repo, user_config, monkeypatch):
    """basic-memory's own order: the MCP server's project constraint, then the default."""
    write_user(user_config, 'observe = ["basic-memory-env"]\n')
    monkeypatch.setenv("BASIC_MEMORY_DEFAULT_PROJECT", "old")
    monkeypatch.setenv("BASIC_MEMORY_MCP_PROJECT", "workout")
    row = observed(resolve(), "basic-memory-env")
    assert (row.origin, row.state) == ("env BASIC_MEMORY_MCP_PROJECT", "in_sync")


def test_basic_memory_preset_reads_the_default_project_in_its_config(repo, user_config, isolated_home):
    """~/.basic-memory/config.json as basic-memory writes it (projects + default_project)."""
    folder = isolated_home / ".basic-memory"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps(
            {
                "env": "dev",
                "projects": {"main": {"path": "/x/main"}, "notes": {"path": "/x/notes"}},
                "default_project": "main",
                "log_level": "INFO",
            }
        )
    )
    write_user(user_config, '[[observe.sources]]\npreset = "basic-memory"\nmap = { workout = "notes" }\n')
    row = observed(resolve(), "basic-memory")
    assert (row.value, row.expected, row.state) == ("main", "notes", "drifted")
    assert row.origin == "~/.basic-memory/config.json: default_project"


def test_unset_preset_is_shown_not_an_error(repo, user_config):
    write_user(user_config, 'observe = ["langsmith", "openai"]\n')
    res = resolve()
    assert res.state == "SYNCED" and res.resolved_scope == "workout"
    assert [(o.name, o.state) for o in res.observed] == [("langsmith", "unset"), ("openai", "unset")]
    assert observed(res, "langsmith").origin == "env LANGSMITH_PROJECT / LANGCHAIN_PROJECT"


# --- custom observers: env, JSON, TOML -----------------------------------------------


def test_custom_json_file_with_nested_key_and_home(repo, user_config, isolated_home):
    (isolated_home / ".memsrv").mkdir()
    (isolated_home / ".memsrv" / "config.json").write_text(
        json.dumps({"server": {"projects": ["scratch", "workout"]}})
    )
    write_user(
        user_config,
        '[[observe.sources]]\nname = "memory-server"\n'
        'file = "~/.memsrv/config.json"\nkey = "server.projects.1"\n',
    )
    row = observed(resolve(), "memory-server")
    assert (row.value, row.state, row.origin) == (
        "workout",
        "in_sync",
        "~/.memsrv/config.json: server.projects.1",
    )


def test_custom_toml_file_in_the_repository(repo, user_config):
    (repo / "agent.toml").write_text('[memory]\nproject = "zentygo"\n')
    write_user(
        user_config, '[[observe.sources]]\nname = "agent"\nfile = "agent.toml"\nkey = "memory.project"\n'
    )
    res = resolve()
    row = observed(res, "agent")
    assert (row.value, row.state, row.expected) == ("zentygo", "drifted", "workout")
    assert res.state == "DRIFTED"
    assert res.reasons == ["observed_mismatch"] and res.actions == ["update_observed"]
    problem = next(p for p in res.problems if p.reason == "observed_mismatch")
    assert problem.source == "observed:agent"
    assert problem.detail.startswith("agent: 'zentygo'")
    assert res.resolved_scope == "workout"  # never used to resolve


def test_file_without_extension_is_json_or_toml(repo, user_config):
    (repo / "rc").write_text('project = "workout"\n')
    write_user(user_config, '[[observe.sources]]\nname = "rc"\nfile = "rc"\nkey = "project"\n')
    assert observed(resolve(), "rc").state == "in_sync"


def test_custom_env_observer_list_first_set_wins(repo, user_config, monkeypatch):
    write_user(
        user_config, '[[observe.sources]]\nname = "memsrv"\nenv = ["MEMSRV_PROJECT", "MEMSRV_DEFAULT"]\n'
    )
    monkeypatch.setenv("MEMSRV_PROJECT", "")  # empty counts as unset
    monkeypatch.setenv("MEMSRV_DEFAULT", "workout")
    row = observed(resolve(), "memsrv")
    assert (row.origin, row.state) == ("env MEMSRV_DEFAULT", "in_sync")


# --- maps: hits and misses ------------------------------------------------------------


def test_map_hit_miss_and_other_scopes_id(repo, user_config, monkeypatch):
    write_user(
        user_config,
        '[[observe.sources]]\nname = "traces"\nenv = "TRACE_PROJECT"\n'
        'map = { workout = "proj_w", zentygo = "proj_z" }\n',
    )
    monkeypatch.setenv("TRACE_PROJECT", "proj_w")
    assert observed(resolve(), "traces").state == "in_sync"

    monkeypatch.setenv("TRACE_PROJECT", "proj_z")  # the id of another scope: the incident
    res = resolve()
    row = observed(res, "traces")
    assert (row.state, row.expected, row.extra["belongs_to"]) == ("drifted", "proj_w", "zentygo")
    assert "it is the id of scope 'zentygo'" in res.problems[0].detail

    monkeypatch.setenv("CTX_SCOPE", "newproj")  # a scope the map does not know ...
    assert observed(resolve(), "traces").state == "drifted"  # ... but proj_z is zentygo's
    monkeypatch.setenv("TRACE_PROJECT", "proj_q")  # an id the map does not know either
    res = resolve()
    row = observed(res, "traces")
    assert row.state == "unmapped" and "newproj" in row.problem
    assert "observed_mismatch" not in res.reasons


def test_unmapped_value_equal_to_the_scope_is_in_sync(repo, user_config, monkeypatch):
    write_user(user_config, '[[observe.sources]]\nname = "t"\nenv = "T_PROJECT"\nmap = { other = "x" }\n')
    monkeypatch.setenv("T_PROJECT", "workout")
    assert observed(resolve(), "t").state == "in_sync"


def test_nothing_resolved_nothing_compared(project, user_config, monkeypatch):
    write_user(user_config, 'observe = ["wandb"]\n')
    monkeypatch.setenv("WANDB_PROJECT", "anything")
    res = resolve()
    row = observed(res, "wandb")
    assert res.state == "UNRESOLVED"
    assert (row.value, row.expected, row.state) == ("anything", None, "set")


# --- never an error that stops resolution --------------------------------------------


@pytest.mark.parametrize(
    ("content", "state", "problem"),
    [
        ('{"project": ', "unreadable", "invalid JSON at line 1"),
        ('{"other": 1}', "unset", "no `project` in the file"),
        ('{"project": ["a"]}', "invalid", "list, not a string"),
        (None, "unset", "no such file"),
    ],
)
def test_unreadable_or_odd_files_are_shown(repo, user_config, content, state, problem):
    if content is not None:
        (repo / "tool.json").write_text(content)
    write_user(user_config, '[[observe.sources]]\nname = "tool"\nfile = "tool.json"\nkey = "project"\n')
    res = resolve()
    row = observed(res, "tool")
    assert row.state == state and problem in row.problem
    assert res.state == "SYNCED" and res.resolved_scope == "workout"


def test_a_fifo_is_not_read(repo, user_config):
    os.mkfifo(repo / "pipe.json")
    write_user(user_config, '[[observe.sources]]\nname = "p"\nfile = "pipe.json"\nkey = "k"\n')
    row = observed(resolve(), "p")
    assert (row.state, row.problem) == ("unreadable", "not a regular file")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('preset = "nosuchtool"', "unknown preset 'nosuchtool'"),
        ('name = "x"\ncommand = "gcloud config get project"', "observers never run commands"),
        ('name = "x"\nenv = "OPENAI_API_KEY"', "looks like a secret"),
        ('name = "x"\nenv = "CTXSCOPE_TOKEN"', "looks like a secret"),
        ('name = "x"\nfile = "a.json"\nkey = "auth.token"', "looks like a secret"),
        ('name = "x"\nfile = "a.json"', "needs `key`"),
        ('name = "x"', "exactly one of `env` or `file`"),
        ('preset = "openai"\nenv = "X"', "cannot be combined with a preset"),
        ('name = "x"\nenv = "X"\nmap = { a = 1 }', "`map` must be"),
    ],
)
def test_bad_observers_are_invalid_rows(repo, user_config, monkeypatch, entry, problem):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("CTXSCOPE_TOKEN", "tok-secret")
    write_user(user_config, f"[[observe.sources]]\n{entry}\n")
    res = resolve()
    (row,) = res.observed
    assert row.state == "invalid" and problem in row.problem
    assert row.value is None and row.origin.endswith("config.toml:1")
    assert res.state == "SYNCED"
    assert "sk-very-secret" not in json.dumps(res.to_dict())
    assert "tok-secret" not in json.dumps(res.to_dict())


# --- the path fence ------------------------------------------------------------------


def test_files_outside_home_and_repository_are_not_read(repo, user_config, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "tool.json").write_text('{"project": "workout"}')
    write_user(
        user_config, f'[[observe.sources]]\nname = "tool"\nfile = "{outside}/tool.json"\nkey = "project"\n'
    )
    row = observed(resolve(), "tool")
    assert row.state == "not_allowed" and row.value is None
    assert "allow_paths" in row.problem

    write_user(
        user_config,
        f'[observe]\nallow_paths = ["{outside}"]\n\n'
        f'[[observe.sources]]\nname = "tool"\nfile = "{outside}/tool.json"\n'
        'key = "project"\n',
    )
    assert observed(resolve(), "tool").state == "in_sync"


def test_a_link_out_of_home_is_not_followed(repo, user_config, tmp_path, isolated_home):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.json").write_text('{"project": "workout"}')
    (isolated_home / "link.json").symlink_to(outside / "secret.json")
    write_user(user_config, '[[observe.sources]]\nname = "l"\nfile = "~/link.json"\nkey = "project"\n')
    row = observed(resolve(), "l")
    assert row.state == "not_allowed" and "a link to" in row.problem


def test_allow_paths_counts_only_in_the_user_config(repo, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "tool.json").write_text('{"project": "workout"}')
    (repo / ".ctxscope.toml").write_text(
        f'scope = "workout"\n\n[observe]\nallow_paths = ["{outside}"]\n\n'
        f'[[observe.sources]]\nname = "tool"\nfile = "{outside}/tool.json"\nkey = "project"\n'
    )
    trust_file(str(repo / ".ctxscope.toml"))
    res = resolve()
    assert observed(res, "tool").state == "not_allowed"
    assert any("counts only in the user config" in w for w in res.warnings)


# --- the trust gate ------------------------------------------------------------------


def test_observers_in_an_untrusted_project_file_are_ignored(repo, monkeypatch):
    monkeypatch.setenv("LANGSMITH_PROJECT", "elsewhere")
    path = repo / ".ctxscope.toml"
    path.write_text('scope = "workout"\n\n[[observe.sources]]\npreset = "langsmith"\n')
    res = resolve()
    assert res.observed == ()
    assert res.state == "SYNCED"
    assert any("ignoring [observe]" in w and "ctxscope trust" in w for w in res.warnings)

    trust_file(str(path))
    res = resolve()
    row = observed(res, "langsmith")
    assert row.state == "drifted" and row.origin == "env LANGSMITH_PROJECT"
    assert row.extra["declared"] == f"{path}:3"


def test_project_observer_replaces_user_one_of_the_same_name(repo, user_config, monkeypatch):
    monkeypatch.setenv("A_PROJECT", "workout")
    monkeypatch.setenv("B_PROJECT", "zentygo")
    write_user(user_config, '[[observe.sources]]\nname = "svc"\nenv = "A_PROJECT"\n')
    path = repo / ".ctxscope.toml"
    path.write_text('scope = "workout"\n[[observe.sources]]\nname = "svc"\nenv = "B_PROJECT"\n')
    trust_file(str(path))
    (row,) = resolve().observed
    assert row.origin == "env B_PROJECT"


# --- output ----------------------------------------------------------------------------


def test_json_and_table_and_diff(ctx, repo, user_config, monkeypatch):
    write_user(
        user_config, '[[observe.sources]]\npreset = "langsmith"\nmap = { workout = "workout-traces" }\n'
    )
    monkeypatch.setenv("LANGSMITH_PROJECT", "zentygo-traces")

    data = json.loads(ctx("status", "--json").stdout)
    assert data["observed"] == [
        {
            "name": "langsmith",
            "value": "zentygo-traces",
            "expected": "workout-traces",
            "origin": "env LANGSMITH_PROJECT",
            "state": "drifted",
            "problem": "expected 'workout-traces'",
            "preset": "langsmith",
        }
    ]
    assert data["state"] == "DRIFTED" and data["reasons"] == ["observed_mismatch"]
    assert data["fix"] == "export LANGSMITH_PROJECT=workout-traces"

    table = ctx("status").stdout
    lines = table.splitlines()
    observed_at = next(i for i, line in enumerate(lines) if line.strip() == "observed")
    fallback_at = next(i for i, line in enumerate(lines) if line.strip().startswith("fallback"))
    assert observed_at > fallback_at  # below the four sources
    row = lines[observed_at + 1]
    assert "langsmith" in row and "zentygo-traces" in row and "drifted" in row

    diff = ctx("diff")
    assert diff.returncode == 3
    assert "-zentygo-traces" in diff.stdout and "+workout-traces" in diff.stdout


def test_without_observers_the_module_is_not_loaded(project, tmp_path):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    code = (
        "import sys, ctxscope; r = ctxscope.resolve(log=False); "
        "print(r.observed, 'ctxscope.observe' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=project,
        env=os.environ.copy(),
    )
    assert out.stdout.strip() == "() False"


def test_status_in_the_installed_command(ctx, repo, user_config):
    write_user(user_config, '[[observe.sources]]\nname = "agent"\nfile = "agent.json"\nkey = "project"\n')
    (repo / "agent.json").write_text('{"project": "zentygo"}')
    result = ctx("status", "--json", cwd=str(repo), env=os.environ.copy())
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["observed"][0]["state"] == "drifted"
    check = ctx("status", "--check", cwd=str(repo), env=os.environ.copy())
    assert check.returncode == 3
    assert "agent" in check.stdout and "Traceback" not in check.stderr
