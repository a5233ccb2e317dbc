"""Following the first printed fix converges.

For every drift situation the matrix below builds (the runtime override, the
local file and the cloud default each unset or holding one of a few scopes, in
each `[policy] mode`, plus invalid values, disagreeing variables and an observed
tool), a real bash runs `ctxscope status --json`, evaluates the first fix it
names exactly as printed (`eval "$fix"`, as if typed), and asks again. It must
reach SYNCED within two fixes, every fix must exit 0, and no state may repeat
(a repair that undoes the previous one would).

The cloud is the fake v1 service on loopback (tests/conftest.py). A fix that
needs another mode starts with `ctxscope config set policy.mode ...`, run as printed
like every other fix.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCOPES = ("alpha", "beta", "gamma")
MODES = ("observe", "local", "cloud")

FOLLOW = r"""
first() {
    "$PY" -c 'import json, sys; d = json.load(sys.stdin); print(d["state"]); print((d["fixes"] or [""])[0])'
}
for step in 0 1 2 3; do
    answer=$(ctxscope status --json 2>/dev/null | first)
    state=${answer%%$'\n'*}
    fix=${answer#*$'\n'}
    echo "STATE $step $state"
    [ "$state" = SYNCED ] && break
    echo "FIX $step $fix"
    eval "$fix" </dev/null >/dev/null
    echo "RC $step $?"
done
"""


def situations():
    """(id, runtime, local, cloud, mode, extra) for every drift situation of the matrix.

    runtime: None or a scope; local: None (no file) or a scope; cloud: "none" (no
    cloud configured), None (configured, unset) or a scope.
    """
    found = []
    for mode in MODES:
        # Every pair of sources that can disagree, in each direction that matters (the
        # names are interchangeable, so one pair of names per shape is enough), and the
        # override over the file with the cloud absent, unset, agreeing with either, or
        # holding a third value.
        shapes = [(None, "alpha", "beta"), ("alpha", None, "beta"), ("alpha", "alpha", "beta")]
        shapes += [("alpha", "beta", cloud) for cloud in ("none", None, "alpha", "beta", "gamma")]
        for runtime, local, cloud in shapes:
            found.append(
                (f"{mode}-rt_{runtime}-local_{local}-cloud_{cloud}", runtime, local, cloud, mode, {})
            )
        # Faults beside the drift: an invalid override, an invalid file below one,
        # two runtime variables that disagree, an observed tool that differs.
        found += [
            (f"{mode}-invalid-runtime", "not valid", "beta", "gamma", mode, {}),
            (f"{mode}-invalid-runtime-same-below", "not valid", "beta", "beta", mode, {}),
            (f"{mode}-invalid-local-under-override", "alpha", "bad value", "none", mode, {}),
            (f"{mode}-invalid-local-cloud-below", "alpha", "bad value", "beta", mode, {}),
            (f"{mode}-invalid-cloud", None, "alpha", "bad value", mode, {}),
            (f"{mode}-two-variables", "alpha", "beta", "none", mode, {"AGENT_SCOPE": "gamma"}),
            (f"{mode}-observed", "alpha", "beta", "none", mode, {"LANGSMITH_PROJECT": "alpha"}),
        ]
    return found


SITUATIONS = situations()


@pytest.mark.parametrize(
    ("runtime", "local", "cloud_value", "mode", "extra"),
    [s[1:] for s in SITUATIONS],
    ids=[s[0] for s in SITUATIONS],
)
def test_following_the_first_fix_converges(
    runtime, local, cloud_value, mode, extra, tmp_path, user_config, request
):
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    env = _env(extra)
    user = []
    if "AGENT_SCOPE" in extra:
        user.append('[runtime]\nenv = ["CTX_SCOPE", "AGENT_SCOPE"]\n')
    if "LANGSMITH_PROJECT" in extra:
        user.append('observe = ["langsmith"]\n')
    # The mode lives in the project file when there is one, else in the user config.
    if local is not None:
        (repo / ".ctxscope.toml").write_text(f'scope = "{local}"\n\n[policy]\nmode = "{mode}"\n')
    else:
        user.append(f'[policy]\nmode = "{mode}"\n')
    user_config.write_text("".join(_top_level_first(user)))
    if runtime is not None:
        env["CTX_SCOPE"] = runtime
    fake = None
    if cloud_value != "none":
        from conftest import FakeCloud

        fake = FakeCloud(request.getfixturevalue("httpserver"))
        fake.scope = cloud_value
        fake.access = {s: "write" for s in SCOPES}
        env["CTXSCOPE_CLOUD_URL"] = fake.url

    steps = follow(repo, env)

    states = [s["state"] for s in steps]
    assert states[-1] == "SYNCED", _story(steps)
    fixes = [s for s in steps if "fix" in s]
    assert 1 <= len(fixes) <= 2, _story(steps)
    assert all(s["rc"] == 0 for s in fixes), _story(steps)
    assert len(set(map(tuple, ((s["state"], s["fix"]) for s in fixes)))) == len(fixes), _story(
        steps
    )  # never the same situation and advice twice: no oscillation
    for s in fixes:
        # Never lead with copying the runtime value into the shared file or the cloud
        # while the override disagrees with what lies below it.
        if runtime not in (None, "not valid") and local not in (None, runtime, "bad value"):
            assert not s["fix"].startswith("ctxscope sync"), _story(steps)


def _top_level_first(parts):
    """A bare `observe = [...]` must come before any [table] in TOML."""
    return sorted(parts, key=lambda p: not p.startswith("observe"))


def _env(extra):
    from _hardening import env_with

    env = env_with(**extra)
    env.pop("CTX_SCOPE", None)
    env["PY"] = sys.executable
    return env


def follow(repo: Path, env: dict) -> list[dict]:
    """Run the follow-the-first-fix loop in one bash; one dict per step."""
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", FOLLOW],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    steps: list[dict] = []
    for line in result.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        _number, _, value = rest.partition(" ")
        if kind == "STATE":
            steps.append({"state": value})
        elif kind == "FIX":
            steps[-1]["fix"] = value
        elif kind == "RC":
            steps[-1]["rc"] = int(value)
    assert steps, result.stdout + result.stderr
    print(_story(steps))
    if result.stderr:
        print("[stderr]", result.stderr)
    return steps


def _story(steps) -> str:
    lines = []
    for s in steps:
        lines.append(f"{s['state']}")
        if "fix" in s:
            lines.append(f"  $ {s['fix']}   # exit {s.get('rc')}")
    return "\n".join(lines)


def test_the_matrix_covers_every_direction_and_mode():
    ids = [s[0] for s in SITUATIONS]
    for mode in MODES:
        assert any(i.startswith(f"{mode}-rt_alpha-local_beta") for i in ids)  # runtime over local
        assert any(i.startswith(f"{mode}-rt_None-local_alpha-cloud_beta") for i in ids)  # local/cloud
        assert any(i.startswith(f"{mode}-rt_alpha-local_None-cloud_beta") for i in ids)  # rt/cloud
        assert any(i.startswith(f"{mode}-observed") for i in ids)
    assert json.dumps(len(SITUATIONS))  # printed in the test id list
