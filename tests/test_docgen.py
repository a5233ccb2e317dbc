"""tools/docgen.py on an app shaped like the ones to come: a nested command group,
choices from an Enum and a Literal, a repeatable option, a short alias, a file argument.

The real app is checked by test_completions.py and test_man.py; this makes sure the
generator still works when someone adds a `ctxscope thing sub` group.
"""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
from typing import Annotated, Literal

import pytest
import typer
from _docgen import docgen


class Mode(enum.StrEnum):
    fast = "fast"
    careful = "careful"


def _app() -> typer.Typer:
    app = typer.Typer(
        name="ctxscope",
        help="Test app. Second sentence.",
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    group = typer.Typer(help="Manage things.")
    app.add_typer(group, name="thing")

    @app.command()
    def top(
        colour: Annotated[Literal["red", "green"], typer.Option("--colour", "-c", help="A colour [of two].")],
        tag: Annotated[list[str] | None, typer.Option("--tag", help="Repeatable.")] = None,
    ) -> None:
        """Do the top thing. With details."""

    @group.command("set")
    def thing_set(
        mode: Annotated[Mode, typer.Option("--mode", help="How.")] = Mode.fast,
        quiet: Annotated[bool, typer.Option("--quiet/--loud", help="Say less.")] = False,
    ) -> None:
        """Set the thing's mode."""

    @group.command("load")
    def thing_load(
        config_file: Annotated[str, typer.Argument(help="The file to load.")],
    ) -> None:
        """Load a thing from a file."""

    return app


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    files = docgen.render_all(_app())
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return out


def test_the_model():
    tree = docgen.command_tree(_app())
    assert {c.name for c in tree.commands} == {"thing", "top"}
    thing = next(c for c in tree.commands if c.name == "thing")
    assert {c.path for c in thing.commands} == {("thing", "set"), ("thing", "load")}
    top = next(c for c in tree.commands if c.name == "top")
    colour = next(p for p in top.params if p.name == "colour")
    assert (colour.names, colour.choices, colour.value) == (("--colour", "-c"), ("red", "green"), True)
    tag = next(p for p in top.params if p.name == "tag")
    assert tag.multiple
    load = next(c for c in thing.commands if c.name == "load")
    assert next(p for p in load.params if p.kind == "argument").files
    assert docgen.short_help("Do it, e.g. now. Then more.") == "Do it, e.g. now"


def bash(generated, *words):
    quoted = " ".join("'" + w + "'" for w in ("ctxscope", *words))
    completions = generated / "ctxscope" / "data" / "completions"
    script = (
        f"source {completions / 'ctxscope.bash'}\nCOMP_WORDS=({quoted})\n"
        f"COMP_CWORD={len(words)}\n_ctxscope\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
    )
    done = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return [w for w in done.stdout.splitlines() if w]


def test_bash_walks_the_nested_group(generated, tmp_path, monkeypatch):
    assert set(bash(generated, "")) == {"thing", "top"}
    assert set(bash(generated, "thing", "")) == {"set", "load"}
    assert set(bash(generated, "thing", "set", "-")) == {"--mode", "--quiet", "--loud", "-h", "--help"}
    assert bash(generated, "thing", "set", "--mode", "") == ["fast", "careful"]
    assert bash(generated, "top", "-c", "") == ["red", "green"]
    assert bash(generated, "top", "--tag", "x", "--colour", "g") == ["green"]
    (tmp_path / "things.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    assert bash(generated, "thing", "load", "thi") == ["things.toml"]


def test_fish_walks_the_nested_group(generated):
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed (.ci/run installs it)")

    def fish(line):
        done = subprocess.run(
            [
                "fish",
                "--no-config",
                "-c",
                f"source {generated / 'ctxscope' / 'data' / 'completions' / 'ctxscope.fish'}; "
                f"complete -C {line!r}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0 and not done.stderr, done.stderr
        return sorted(e.split("\t")[0] for e in done.stdout.splitlines())

    assert fish("ctxscope thing ") == ["load", "set"]
    assert fish("ctxscope thing set --mode ") == ["careful", "fast"]
    assert "--loud" in fish("ctxscope thing set --")
    assert fish("ctxscope top -c ") == ["green", "red"]


def test_zsh_file_is_valid_and_names_every_command(generated):
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed (.ci/run installs it)")
    path = generated / "ctxscope" / "data" / "completions" / "_ctxscope"
    done = subprocess.run(["zsh", "-n", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = path.read_text()
    for function in (
        "_ctxscope()",
        "_ctxscope_thing()",
        "_ctxscope_thing_set()",
        "_ctxscope_thing_load()",
        "_ctxscope_top()",
    ):
        assert function in text
    assert "\\[of two\\]" in text  # brackets in help are escaped inside _arguments specs


def test_man_page_of_the_nested_app_lints_clean(generated):
    page = generated / "ctxscope" / "data" / "man" / "ctxscope.1"
    text = page.read_text()
    assert ".SS thing set\n" in text and ".SS thing load\n" in text
    if shutil.which("mandoc"):
        done = subprocess.run(
            ["mandoc", "-T", "lint", "-W", "warning", str(page)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout
    if shutil.which("groff"):
        done = subprocess.run(
            ["groff", "-man", "-ww", "-z", str(page)], capture_output=True, text=True, timeout=60
        )
        assert done.stderr == ""


def test_check_mode_names_stale_files_and_writes_nothing(tmp_path, capsys):
    root = tmp_path / "checkout"
    root.mkdir()
    assert docgen.main(["--check", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "completions/ctxscope.bash: out of date" in out
    assert not os.listdir(root)
    assert docgen.main(["--root", str(root)]) == 0
    assert docgen.main(["--check", "--root", str(root)]) == 0
    data = root / "ctxscope" / "data"
    assert sorted(os.listdir(data / "completions")) == ["_ctxscope", "ctxscope.bash", "ctxscope.fish"]
    assert os.listdir(data / "man") == ["ctxscope.1"]
    assert os.listdir(root / "docs" / "reference") == ["cli.md"]


def test_the_markdown_reference_of_the_nested_app(generated):
    text = (generated / "docs" / "reference" / "cli.md").read_text()
    assert "\n## ctxscope thing\n" in text and "\n### ctxscope thing set\n" in text
    assert "| `--mode MODE` | How. One of: `fast`, `careful`. |" in text
    assert (
        "| `-c COLOUR`, `--colour COLOUR` | A colour \\[of two\\]. One of: `red`, `green`. Required. |"
    ) in text
    assert "| `--tag TAG` | Repeatable. May be repeated. |" in text
    assert "`--quiet`, `--loud`" in text
