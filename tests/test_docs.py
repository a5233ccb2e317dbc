"""The documentation against the CLI and against itself.

- docs/reference/commands.md has a row for every command `--help` lists, and names
  every command whose `--json` is not one object;
- docs/reference/cli.md is what tools/docgen.py generates, and lists every option of
  every command as `--help` reads (checked independently of the generator);
- the JSON examples of docs/how-to/shell.md are what the commands print;
- the README is short, starts with the two commands .ci/run runs, and has the sections
  a newcomer looks for;
- every relative link in README.md, CONTRIBUTING.md, CHANGELOG.md and docs/ resolves
  (file and anchor), every page is in the site's nav, and nothing cites a document
  that is not in the repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from _docgen import docgen
from _helptext import help_commands, help_options

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
COMMANDS_PAGE = DOCS / "reference" / "commands.md"
CLI_PAGE = DOCS / "reference" / "cli.md"
SHELL_PAGE = DOCS / "how-to" / "shell.md"
TOP_LEVEL = [README, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md"]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


# --- the command table and the generated reference ------------------------------------------


def _rows() -> dict[str, str]:
    """Each command's usage cell in the table of docs/reference/commands.md."""
    usage: dict[str, str] = {}
    for line in _text(COMMANDS_PAGE).splitlines():
        if line.startswith("| `ctxscope "):
            cell = line.split("` |", 1)[0]
            name = cell.split()[2]
            usage[name] = usage.get(name, "") + " " + cell
    return usage


def test_every_command_has_a_row_in_the_commands_table():
    missing = set(help_commands()) - set(_rows())
    assert not missing, f"docs/reference/commands.md has no row for: {sorted(missing)}"


def test_the_committed_cli_reference_is_current():
    generated = docgen.render_all()["docs/reference/cli.md"]
    assert _text(CLI_PAGE) == generated, (
        "docs/reference/cli.md is out of date: run `python tools/docgen.py` and commit the result"
    )


def _cli_sections() -> dict[str, str]:
    """docs/reference/cli.md cut at its command headings: {"status": text, ...}."""
    sections: dict[str, str] = {}
    for chunk in re.split(r"\n(?=#{2,4} ctxscope\b)", _text(CLI_PAGE))[1:]:
        title = chunk.split("\n", 1)[0].lstrip("#").strip()
        sections[" ".join(title.split()[1:])] = chunk
    return sections


def test_every_command_and_option_of_help_is_in_the_cli_reference():
    sections = _cli_sections()
    for command in help_commands():
        assert command in sections, f"docs/reference/cli.md has no section for `{command}`"
        shown = set(re.findall(r"`(--?[\w-]+)", sections[command]))
        missing = [o for o in help_options(command) if o not in ("-h", "--help") and o not in shown]
        assert not missing, f"docs/reference/cli.md `ctxscope {command}` leaves out {missing}"
    top = set(re.findall(r"`(--?[\w-]+)", sections[""]))
    assert {"--version", "-V"} <= top


def _json_exceptions() -> set[str]:
    """The commands the intro of docs/reference/commands.md names as not printing one
    object for --json."""
    intro = _text(COMMANDS_PAGE).split("\n|", 1)[0]
    return set(re.findall(r"^- `(\w+)(?: --json)?`", intro, re.M))


# The arguments that make each command print its --json output here without writing.
JSON_ARGS = {
    "status": [],
    "resolve": [],
    "diff": [],
    "ps": [],
    "log": [],
    "config": [],
    "trust": [],
    "sync": ["--direction", "runtime-to-local", "--dry-run"],
    "repair": ["--dry-run"],
    "init": ["--dry-run"],
    "hook": ["bash"],
    "prompt": [],
    "mcp": None,
    "completion": None,
    "exec": None,
    "whoami": ["--offline"],
    "undo": ["--dry-run"],
    "serve": None,
    "metrics": None,
}


def test_every_json_is_one_object_except_the_ones_the_page_names(project, monkeypatch, capsys):
    """`--json` is one object; the Commands page names every command where it is not, and
    each one named prints what the page says."""
    from ctxscope import cli

    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    cli.run(["resolve"])  # one drift event in the log, for `log --json`
    capsys.readouterr()
    exceptions = _json_exceptions()
    assert exceptions == {"ps", "log", "mcp", "completion", "exec", "serve", "metrics"}
    for command in help_commands():
        assert command in JSON_ARGS, f"add `{command}` to JSON_ARGS"
        has_json = "--json" in help_options(command)
        assert has_json == (JSON_ARGS[command] is not None), command
        if not has_json:
            assert command in exceptions, f"`ctxscope {command}` has no --json: name it"
            continue
        cli.run([command, *JSON_ARGS[command], "--json"])
        out = capsys.readouterr().out
        if command == "ps":
            assert isinstance(json.loads(out), list)
        elif command == "log":
            lines = out.splitlines()
            assert lines and all(isinstance(json.loads(line), dict) for line in lines)
        else:
            assert command not in exceptions, f"`{command} --json` is one object now"
            assert isinstance(json.loads(out), dict), command


# --- the shell integration page ------------------------------------------------------------


def test_the_shell_page_names_files_that_exist():
    named = set(re.findall(r"(?<![\w/])(ctxscope/data/[\w./]+\w)", _text(SHELL_PAGE)))
    assert "ctxscope/data/man/ctxscope.1" in named
    for rel in named:
        assert (ROOT / rel).exists(), rel


def _console_json(command: str) -> dict:
    """The JSON object a ```console block of the shell page shows for `$ command`."""
    match = re.search(
        r"```console\n\$ " + re.escape(command) + r"\n(\{\n.*?\n\})\n```", _text(SHELL_PAGE), re.S
    )
    assert match, f"docs/how-to/shell.md shows no output of `{command}`"
    return json.loads(match.group(1))


@pytest.mark.parametrize(
    "command",
    [
        "ctxscope hook bash --run --json",
        "ctxscope prompt --json --format '[{scope}{mark}]'",
    ],
)
def test_the_shell_integration_json_examples_match_the_commands(command, project, monkeypatch):
    """The page's example objects are what the commands print in the drift they show."""
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    shown = _console_json(command)
    done = subprocess.run(command, shell=True, cwd=project, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == shown


# --- the README ----------------------------------------------------------------------------


def test_the_readme_is_short():
    lines = _text(README).count("\n")
    assert lines <= 250, f"README.md has {lines} lines; move detail into docs/"


def test_the_readme_starts_with_the_two_commands_ci_runs():
    blocks = re.findall(r"```sh\n(.*?)\n```", _text(README), re.S)
    install, tests = blocks[0], blocks[1]
    assert "\n" not in install and "\n" not in tests
    assert install.endswith("&& .venv/bin/ctxscope status")
    assert tests.startswith(".venv/bin/python -m pytest")
    ci = _text(ROOT / ".ci" / "run").splitlines()
    assert install in ci, ".ci/run no longer runs the README's install command"
    assert any(line.strip() == tests for line in ci), ".ci/run no longer runs the tests so"
    head = _text(README).split("\n## ", 1)[0]
    assert install in head and tests in head, "the set-up commands belong in the first lines"


def test_the_readme_has_what_a_newcomer_looks_for():
    text = _text(README)
    headings = re.findall(r"^## (.+)$", text, re.M)
    for wanted in ("The incident, in one screen", "Install", "Quick start", "Documentation", "Contributing"):
        assert wanted in headings, f"README.md has no `## {wanted}`"
    assert "pipx install ctxscope" in text and "pip install ctxscope" in text
    linked = set(re.findall(r"\]\((docs/[^)#]+)", text))
    pages = {str(p.relative_to(ROOT)) for p in _pages()}
    assert linked == pages, f"README.md does not link: {sorted(pages - linked)}"


def test_the_readme_screen_shows_the_incident_fixed_by_the_advice():
    screen = _text(README).split("## The incident, in one screen", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```console\n(.*?)\n```", screen, re.S).group(1)
    status = block.split("$ ctxscope status\n", 1)[1].split("\n$ ", 1)[0]
    advice = re.search(r'eval "\$\(ctxscope repair [^)]*\)"', status).group(0)
    assert f"$ {advice}" in block, "the screen follows the fix that status printed"
    assert block.rstrip().endswith("exit 0")


def test_the_readme_screen_is_what_the_installed_command_prints(ctx, project, monkeypatch):
    """The screen is captured, not written: the same situation gives the same summary line,
    the same repair report and the same diff (the repository path aside)."""
    screen = _text(README).split("## The incident, in one screen", 1)[1]
    block = re.search(r"```console\n(.*?)\n```", screen, re.S).group(1)
    shown_path = re.search(r"(/\S+)/\.ctxscope\.toml:2", block).group(1)
    (project / ".ctxscope.toml").write_text('# Memory scope for this repository\nscope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    status = ctx("status")
    assert status.returncode == 0, status.stderr
    summary = next(line for line in status.stdout.splitlines() if line.startswith("DRIFTED"))
    assert summary.replace(str(project), shown_path) in block.splitlines()
    fix = 'eval "$(ctxscope repair --to workout --shell bash)"'
    done = subprocess.run(
        ["bash", "-c", f'{fix}; ctxscope diff; echo "exit $?"'], capture_output=True, text=True, timeout=60
    )
    after = block.split(f"$ {fix}", 1)[1].split("\n", 1)[1]
    report = after.split("\n$ ", 1)[0]
    # (a machine too busy to take the drift log's lock in time adds a warning line)
    stderr = [line for line in done.stderr.splitlines() if not line.startswith("ctxscope: warning:")]
    assert "\n".join(stderr) == report
    assert (
        done.stdout.rstrip("\n").replace(str(project), shown_path)
        == after.split('$ ctxscope diff; echo "exit $?"\n', 1)[1]
    )


# --- links, the nav, and standing alone ----------------------------------------------------


def _slug(heading: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _without_code(text: str) -> str:
    return re.sub(r"`[^`\n]*`", "", _without_code_blocks(text))


def _anchors(path: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", _without_code_blocks(_text(path)), re.M)}


def _links(path: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", _without_code(_text(path)))


@pytest.mark.parametrize("path", [*TOP_LEVEL, *_pages()], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path):
    broken = []
    for link in _links(path):
        if re.match(r"^[a-z][a-z+.-]*:", link):  # https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        resolved = (path.parent / target).resolve() if target else path
        if not resolved.exists():
            broken.append(f"{link}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{link}: no heading with that anchor")
        elif path.is_relative_to(DOCS) and not resolved.is_relative_to(DOCS):
            broken.append(f"{link}: outside docs/, which the site does not have")
    assert not broken, f"{path.relative_to(ROOT)}: {broken}"


def test_every_page_is_in_the_nav():
    config = _text(ROOT / "mkdocs.yml")
    in_nav = set(re.findall(r":\s+([\w/-]+\.md)\s*$", config, re.M))
    pages = {str(p.relative_to(DOCS)) for p in _pages()}
    assert pages == in_nav, (sorted(pages - in_nav), sorted(in_nav - pages))


# What must not be cited: documents that are not in the repository. Spelled in pieces so
# this file does not match itself.
_OUTSIDE = re.compile(
    "|".join(
        [
            r"\b" + "DES" + r"IGN\b",
            r"\b" + "STY" + r"LE (?:point|section|\.md)",
            "STY" + r"LE\.md",
            r"(?<!Typer )\b" + "iss" + r"ue \d+",
            r"\bthe " + "play" + "book",
            r"\bthe " + "se" + r"ed\b",
        ]
    )
)


def _repository_text() -> list[Path]:
    files = [*TOP_LEVEL, *_pages(), ROOT / "mkdocs.yml", ROOT / ".ci" / "run"]
    for folder in ("ctxscope", "tests", "benchmarks", "tools"):
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file()
            and p.suffix in (".py", ".md", ".toml", ".json", ".bash", ".fish", ".1", "")
            and "__pycache__" not in p.parts
        ]
    return files


def test_nothing_cites_a_document_outside_the_repository():
    found = []
    for path in _repository_text():
        for number, line in enumerate(_text(path).splitlines(), 1):
            if _OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert not found, "explain it in the project's own words instead:\n" + "\n".join(found)


def test_the_site_builds_strict(tmp_path):
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    if mkdocs is None:
        pytest.skip("mkdocs is not installed (the test extra installs it)")
    done = subprocess.run(
        [mkdocs, "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr
