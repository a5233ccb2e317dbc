"""The cloud default kept in a real etcd (backend `etcd`), through the installed command.

One etcd with authentication per test module (tests/_etcd.py): root, the role
`team` (user ana: write on `ship` and `c*`, read on `docs`), the role `viewer`
(user rita: read only), and nina with no role. The clusters that a test breaks
(the 3-member one, the TLS one) are the test's own. Every test sets the default
it starts from, so the order of the tests does not matter.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from _etcd import PASSWORDS, PREFIX, ROOT_PASSWORD, make_tls, setup_team, start_cluster
from _hardening import CTXSCOPE, assert_clean_failure, call, env_with, error_lines, run

DEFAULT = f"{PREFIX}/default"
TIMEOUT = 5.0  # [cloud] timeout here: generous, two cores are shared by many test workers


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    """One etcd member with auth on; tokens live 4 s so that expiry can be tested."""
    cluster = start_cluster(tmp_path_factory.mktemp("etcd"), 1, token_ttl=4)
    try:
        setup_team(cluster)
        yield cluster
    finally:
        cluster.stop()


def _config(user_config: Path, urls, *, timeout: float = TIMEOUT, extra: str = "") -> None:
    listed = ", ".join(json.dumps(u) for u in urls)
    user_config.write_text(
        f'[cloud]\nbackend = "etcd"\nurl = [{listed}]\ntimeout = {timeout}\n{extra}\n'
        '[policy]\nmode = "cloud"\n'
    )


def as_user(name: str | None, **extra: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {
        "CTXSCOPE_ETCD_USER": name,
        "CTXSCOPE_ETCD_PASSWORD": PASSWORDS.get(name or ""),
    }
    return env_with(**{**values, **extra})


@pytest.fixture
def team(etcd, project, user_config):
    """The user config points at the module's etcd; the default is 'ship'."""
    _config(user_config, etcd.urls)
    etcd.put(DEFAULT, "ship")
    return etcd


@pytest.fixture(autouse=True)
def no_password_leaks(isolated_home, capsys):
    """No etcd password ever reaches ctxscope's state or cache files, or the output."""
    yield
    secrets = [*PASSWORDS.values(), ROOT_PASSWORD]
    for root in (isolated_home / ".local" / "state", isolated_home / ".cache"):
        for path in root.rglob("*") if root.is_dir() else []:
            if path.is_file():
                text = path.read_text(errors="replace")
                assert not any(s in text for s in secrets), f"a password leaked into {path}"
    out, err = capsys.readouterr()
    assert not any(s in out + err for s in secrets), "a password leaked into the output"


def _version(etcd, key: str = DEFAULT) -> int:
    data = json.loads(etcd.ctl("get", key, "-w", "json"))
    return int(data["kvs"][0]["version"]) if data.get("kvs") else 0


def _events(isolated_home) -> list[dict]:
    path = isolated_home / ".local" / "state" / "ctxscope" / "drift.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- reading: resolve, status, diff ---------------------------------------------------------


def test_resolve_status_diff_against_etcd(team, project):
    env = as_user("ana")
    result = run(["resolve"], cwd=project, env=env)
    assert (result.returncode, result.stdout) == (0, "ship\n"), result.stderr

    status = run(["status", "--json", "--refresh"], cwd=project, env=env)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    cloud = next(s for s in data["sources"] if s["source"] == "cloud")
    assert cloud["value"] == "ship" and cloud["state"] == "resolved"
    assert f"key {DEFAULT}" in cloud["origin"] and team.url in cloud["origin"]
    assert data["authorization"] == "authorized" and data["state"] == "SYNCED"

    (project / ".ctxscope.toml").write_text('scope = "docs"\n')
    diff = run(["diff"], cwd=project, env=env)
    assert diff.returncode == 3, diff.stderr
    assert "cloud" in diff.stdout and "ship" in diff.stdout and "docs" in diff.stdout
    # ana may read 'docs': the local scope is used, the cloud shown as drifted.
    resolved = run(["resolve"], cwd=project, env=env)
    assert (resolved.returncode, resolved.stdout) == (0, "docs\n")


def test_the_readme_incident_with_etcd_as_the_cloud(team, project):
    """The stale shell variable, the repository's file, the team default in etcd."""
    for scope in ("zentygo", "workout"):
        team.ctl("role", "grant-permission", "team", "readwrite", f"{PREFIX}/scopes/{scope}")
    team.put(DEFAULT, "zentygo")
    (project / ".ctxscope.toml").write_text('# Memory scope for this repository\nscope = "workout"\n')
    env = as_user("ana", CTX_SCOPE="zentygo")
    status = run(["status", "--refresh"], cwd=project, env=env)
    assert "DRIFTED: 'zentygo' from runtime (authorized); local_mismatch" in status.stdout
    resolved = run(["resolve"], cwd=project, env=env)
    assert resolved.stdout == "zentygo\n" and "local_mismatch" in resolved.stderr
    assert run(["diff"], cwd=project, env=env).returncode == 3

    env = as_user("ana")  # the shell variable is gone: now the cloud is the odd one out
    status = run(["status"], cwd=project, env=env)
    assert "DRIFTED: 'workout' from local (authorized); cloud_mismatch" in status.stdout
    fixed = run(["sync", "--direction", "resolved-to-cloud", "--yes"], cwd=project, env=env)
    assert fixed.returncode == 0, fixed.stderr
    assert team.get(DEFAULT) == "workout"
    assert "SYNCED" in run(["status", "--refresh"], cwd=project, env=env).stdout


def test_an_unset_default_is_unset_not_an_error(team, project):
    team.ctl("del", DEFAULT)
    result = run(["status", "--json", "--refresh"], cwd=project, env=as_user("ana"))
    cloud = next(s for s in json.loads(result.stdout)["sources"] if s["source"] == "cloud")
    assert cloud["state"] == "unset" and cloud["value"] is None


def test_a_fresh_cache_makes_no_request_and_offline_uses_it(team, project, monkeypatch):
    from ctxscope.etcd import EtcdClient
    from ctxscope.resolver import Context, resolve

    for key, value in as_user("ana").items():
        monkeypatch.setenv(key, value)
    sent: list[str] = []
    original = EtcdClient._send

    def counting(self, client, url, body, headers):
        sent.append(url)
        return original(self, client, url, body, headers)

    monkeypatch.setattr(EtcdClient, "_send", counting)
    assert resolve(cwd=str(project), log=False).resolved_scope == "ship"
    cold = len(sent)
    assert cold >= 3  # authenticate, range, user/get, role/get
    for flags in ({}, {"offline": True}):
        ctx = Context(cwd=str(project), **flags)
        try:
            assert resolve(context=ctx, log=False).resolved_scope == "ship"
        finally:
            ctx.close()
    assert len(sent) == cold, sent[cold:]
    # --refresh asks again.
    assert resolve(cwd=str(project), refresh=True, log=False).resolved_scope == "ship"
    assert len(sent) > cold


def test_the_cache_is_keyed_by_endpoints_prefix_and_user():
    from ctxscope.etcd import etcd_cache

    base = etcd_cache(["http://127.0.0.1:1"], "/ctxscope", "ana").path
    assert base == etcd_cache(["http://127.0.0.1:1"], "/ctxscope", "ana").path
    for other in (
        etcd_cache(["http://127.0.0.1:2"], "/ctxscope", "ana"),
        etcd_cache(["http://127.0.0.1:1"], "/other", "ana"),
        etcd_cache(["http://127.0.0.1:1"], "/ctxscope", "rita"),
    ):
        assert other.path != base


def test_identity_is_the_etcd_user(team, project, user_config):
    _config(user_config, team.urls, extra='[fallback]\npolicy = "identity"\n')
    team.ctl("del", DEFAULT)
    result = run(["status", "--json", "--refresh"], cwd=project, env=as_user("ana"))
    data = json.loads(result.stdout)
    fallback = next(s for s in data["sources"] if s["source"] == "fallback")
    assert fallback["value"] == "ana", data


# --- authorization --------------------------------------------------------------------------


def test_read_only_role_cannot_sync_and_nothing_is_written(team, project):
    before = _version(team)
    result = run(
        ["sync", "--direction", "resolved-to-cloud", "--scope", "ship", "--yes"],
        cwd=project,
        env=as_user("rita", CTX_SCOPE=None),
    )
    # Already 'ship': in sync. Ask for a change rita may not make.
    assert result.returncode == 0, result.stderr
    (project / ".ctxscope.toml").write_text('scope = "c3"\n')
    result = run(["sync", "--direction", "resolved-to-cloud", "--yes"], cwd=project, env=as_user("rita"))
    assert result.returncode == 4, result.stderr
    assert len(error_lines(result.stderr)) == 1
    assert team.get(DEFAULT) == "ship" and _version(team) == before


def test_read_access_to_the_scope_is_not_enough_to_write_the_default(team, project):
    result = run(
        ["sync", "--direction", "resolved-to-cloud", "--scope", "docs", "--yes"],
        cwd=project,
        env=as_user("ana"),
    )
    assert result.returncode == 4
    assert "only read access" in result.stderr
    assert team.get(DEFAULT) == "ship"


def test_no_permission_on_the_resolved_scope_is_exit_4(team, project):
    (project / ".ctxscope.toml").write_text('scope = "hidden"\n')
    result = run(["resolve"], cwd=project, env=as_user("ana"))
    assert_clean_failure(result, 4, "hidden")
    check = run(["status", "--check", "--refresh"], cwd=project, env=as_user("ana"))
    assert check.returncode == 4
    assert team.get(DEFAULT) == "ship"


def test_a_user_with_no_role_cannot_read_the_default(team, project):
    result = run(["resolve", "--refresh"], cwd=project, env=as_user("nina"))
    line = assert_clean_failure(result, 6, "may not read", DEFAULT)
    assert "unreachable" not in line


def test_wrong_password_is_its_own_message(team, project):
    env = as_user("ana", CTXSCOPE_ETCD_PASSWORD="not-the-password")
    result = run(["resolve", "--refresh"], cwd=project, env=env)
    line = assert_clean_failure(result, 6, "wrong user name or password", "'ana'")
    assert "no endpoint answered" not in line and "cannot connect" not in line


def test_a_user_without_a_password_is_a_config_error(team, project):
    result = run(["resolve", "--refresh"], cwd=project, env=as_user("ana", CTXSCOPE_ETCD_PASSWORD=None))
    assert_clean_failure(result, 1, "CTXSCOPE_ETCD_PASSWORD")


def test_auth_required_but_no_user_configured(team, project):
    result = run(["resolve", "--refresh"], cwd=project, env=as_user(None))
    assert_clean_failure(result, 6, "requires a user")


def test_an_expired_token_is_renewed_once(team, project, monkeypatch):
    """Tokens live 4 s here; a write that waits 5 s after its read gets a new token."""
    from ctxscope.etcd import EtcdClient

    logins: list[int] = []
    original_login, original_put = EtcdClient._login, EtcdClient.put_scope

    def login(self):
        logins.append(1)
        return original_login(self)

    def slow_put(self, scope, revision):
        time.sleep(5.0)  # the token expires meanwhile
        # The wait stands for time spent elsewhere, not for the cloud: it gets no share
        # of the command's budget (on a busy machine it would otherwise spend it all).
        if self._deadline is not None:
            self._deadline += 5.0
        return original_put(self, scope, revision)

    monkeypatch.setattr(EtcdClient, "_login", login)
    monkeypatch.setattr(EtcdClient, "put_scope", slow_put)
    result = call(
        ["sync", "--direction", "resolved-to-cloud", "--scope", "c1", "--yes"],
        cwd=project,
        env=as_user("ana"),
    )
    assert result.returncode == 0, result.stderr
    assert team.get(DEFAULT) == "c1"
    assert len(logins) == 2  # the first one, and one renewal


def test_a_token_refused_twice_is_an_error_not_a_loop(team):
    from ctxscope.errors import CloudError
    from ctxscope.etcd import EtcdClient

    client = EtcdClient(team.urls, user="ana", password=PASSWORDS["ana"], timeout=TIMEOUT)
    try:
        assert client.get_scope()["scope"] == "ship"
        client._token = "forged.1"
        assert client.get_scope()["scope"] == "ship"  # renewed
        client._token = "forged.2"
        with pytest.raises(CloudError, match="refused again"):
            client.get_scope()
    finally:
        client.close()


# --- writes ---------------------------------------------------------------------------------


def test_sync_writes_in_one_transaction_and_reads_back(team, project, isolated_home):
    before = _version(team)
    result = run(
        ["sync", "--direction", "resolved-to-cloud", "--scope", "c2", "--yes"],
        cwd=project,
        env=as_user("ana"),
    )
    assert result.returncode == 0, result.stderr
    assert "read back: ok" in result.stdout
    assert "--scope ship" in result.stdout  # the undo hint
    assert team.get(DEFAULT) == "c2" and _version(team) == before + 1
    synced = [e for e in _events(isolated_home) if e["event"] == "scope_synced"]
    assert synced[-1]["before"] == "ship" and synced[-1]["after"] == "c2"
    assert synced[-1]["verified"] is True
    # In sync now: nothing written.
    again = run(
        ["sync", "--direction", "resolved-to-cloud", "--scope", "c2", "--yes"],
        cwd=project,
        env=as_user("ana"),
    )
    assert again.returncode == 0 and _version(team) == before + 1


def test_dry_run_and_mode_gate_write_nothing(team, project, user_config):
    before = _version(team)
    dry = run(
        ["sync", "--direction", "resolved-to-cloud", "--scope", "c2", "--dry-run"],
        cwd=project,
        env=as_user("ana"),
    )
    assert dry.returncode == 0 and "c2" in dry.stdout
    _config(user_config, team.urls)
    user_config.write_text(user_config.read_text().replace('mode = "cloud"', 'mode = "local"'))
    gated = run(
        ["sync", "--direction", "resolved-to-cloud", "--scope", "c2", "--yes"],
        cwd=project,
        env=as_user("ana"),
    )
    assert gated.returncode == 1 and "mode" in gated.stderr
    assert _version(team) == before


def test_repair_writes_the_default(team, project):
    team.put(DEFAULT, "not a valid scope!")
    result = run(["repair", "--to", "c4", "--yes"], cwd=project, env=as_user("ana"))
    assert result.returncode == 0, result.stderr
    assert team.get(DEFAULT) == "c4"


def test_a_concurrent_put_between_read_and_write_is_a_conflict(team, project, monkeypatch, isolated_home):
    """Someone runs `etcdctl put` after ctxscope read the default and before its write."""
    from ctxscope.etcd import EtcdClient

    original = EtcdClient.put_scope

    def raced(self, scope, revision):
        team.put(DEFAULT, "c9")  # the other writer wins the race
        return original(self, scope, revision)

    monkeypatch.setattr(EtcdClient, "put_scope", raced)
    result = call(
        ["sync", "--direction", "resolved-to-cloud", "--scope", "c5", "--yes"],
        cwd=project,
        env=as_user("ana"),
    )
    assert result.returncode == 1
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and "changed" in lines[0] and "'c9'" in lines[0]
    assert team.get(DEFAULT) == "c9"  # never overwritten, never retried
    failed = [e for e in _events(isolated_home) if e["event"] == "scope_sync_failed"]
    assert failed, _events(isolated_home)


def test_16_concurrent_syncs_one_winner_per_revision_no_lost_update(
    team, project, isolated_home, user_config
):
    # Sixteen interpreters on a shared two-core box: a budget for correctness, not speed.
    _config(user_config, team.urls, timeout=60)
    start_version = _version(team)
    env = as_user("ana")
    procs = [
        subprocess.Popen(
            [CTXSCOPE, "sync", "--direction", "resolved-to-cloud", "--scope", f"c{i}", "--yes"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        for i in range(16)
    ]
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    codes = [code for code, _out, _err in outcomes]
    assert set(codes) <= {0, 1}, outcomes
    for code, _out, err in outcomes:
        assert "Traceback" not in err
        if code == 1:
            assert "after it was read" in err, err  # a conflict, not some other failure
    winners = codes.count(0)
    assert winners >= 1
    # Exactly one put per winner, and the winners form one chain of before -> after:
    # every write started from the value the previous one left (no lost update).
    assert _version(team) == start_version + winners
    synced = [e for e in _events(isolated_home) if e["event"] == "scope_synced"]
    assert len(synced) == winners
    following = {}
    for event in synced:
        assert event["before"] not in following, "two writes started from the same revision"
        following[event["before"]] = event["after"]
    value, steps = "ship", 0
    while value in following:
        value, steps = following[value], steps + 1
    assert steps == winners and value == team.get(DEFAULT)


def test_sigkill_during_a_sync_leaves_the_old_or_the_new_value(team, project):
    env = as_user("ana")
    rng = random.Random(14)
    previous = "ship"
    for attempt in range(4):
        target = f"c1{attempt}"
        proc = subprocess.Popen(
            [CTXSCOPE, "sync", "--direction", "resolved-to-cloud", "--scope", target, "--yes"],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.2, 1.2))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        now = team.get(DEFAULT)
        assert now in (previous, target), (previous, target, now)
        previous = now
        status = run(["status", "--check", "--refresh"], cwd=project, env=env)
        assert status.returncode == 0, status.stderr
    final = run(["sync", "--direction", "resolved-to-cloud", "--scope", "c19", "--yes"], cwd=project, env=env)
    assert final.returncode == 0 and team.get(DEFAULT) == "c19"


# --- watch ----------------------------------------------------------------------------------


def test_status_watch_redraws_soon_after_an_etcdctl_put(team, project):
    proc = subprocess.Popen(
        [CTXSCOPE, "status", "--watch", "--json"],
        cwd=project,
        env=as_user("ana"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        first = json.loads(proc.stdout.readline())
        assert first["resolved_scope"] == "ship"
        time.sleep(1.0)  # the watch stream is open by now
        put_at = time.monotonic()
        team.put(DEFAULT, "c6")
        line = proc.stdout.readline()
        elapsed = time.monotonic() - put_at
        assert json.loads(line)["resolved_scope"] == "c6"
        # Within a second on an idle machine; loose here for a busy CI box. The cache
        # TTL is 60 s, so without etcd's watch this would take a minute.
        assert elapsed < 10.0, elapsed
        print(f"redrawn {elapsed * 1000:.0f} ms after the put")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --- endpoints and faults -------------------------------------------------------------------


@pytest.fixture
def blackhole():
    """A loopback port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_endpoints_are_tried_in_order(team, project, user_config, dead_url, blackhole):
    _config(user_config, [dead_url, blackhole, team.url], timeout=3.0)
    started = time.monotonic()
    result = run(["resolve", "--refresh"], cwd=project, env=as_user("ana"))
    assert (result.returncode, result.stdout) == (0, "ship\n"), result.stderr
    assert time.monotonic() - started < 3.0 + 5


def test_all_endpoints_down_is_exit_6_within_the_budget(project, user_config, dead_url, blackhole):
    budget = 1.5
    _config(user_config, [blackhole, dead_url], timeout=budget)
    started = time.monotonic()
    result = run(["resolve", "--refresh"], cwd=project, env=as_user("ana"))
    elapsed = time.monotonic() - started
    line = assert_clean_failure(result, 6, blackhole, dead_url)
    assert "no answer in time" in line and "cannot connect" in line
    assert elapsed < budget + 4, elapsed  # the budget, plus interpreter start-up


def test_three_members_leader_killed_mid_run(tmp_path, project, user_config):
    cluster = start_cluster(tmp_path, 3)
    try:
        setup_team(cluster)
        cluster.put(DEFAULT, "ship")
        leader = cluster.leader()
        urls = [leader.url] + [m.url for m in cluster.members if m is not leader]
        _config(user_config, urls)
        env = as_user("ana")
        assert run(["resolve", "--refresh"], cwd=project, env=env).stdout == "ship\n"
        # Commands already running when the leader dies, and one started just after.
        running = []
        for _ in range(3):
            running.append(
                subprocess.Popen(
                    [CTXSCOPE, "resolve", "--refresh"],
                    cwd=project,
                    env=env,
                    text=True,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                )
            )
            time.sleep(0.15)
        leader.kill()  # SIGKILL, as a crash would
        for proc in running:
            out, err = proc.communicate(timeout=60)
            assert (proc.returncode, out) == (0, "ship\n"), err
        result = run(["resolve", "--refresh"], cwd=project, env=env)
        assert (result.returncode, result.stdout) == (0, "ship\n"), result.stderr
        write = run(
            ["sync", "--direction", "resolved-to-cloud", "--scope", "c7", "--yes"], cwd=project, env=env
        )
        assert write.returncode == 0, write.stderr
        assert cluster.get(DEFAULT) == "c7"
        # Every member down: exit 6, one line naming each endpoint.
        for member in cluster.members:
            member.kill()
        _config(user_config, urls, timeout=2.0)
        down = run(["resolve", "--refresh"], cwd=project, env=env)
        line = assert_clean_failure(down, 6, *urls)
        assert line.count("cannot connect") == 3
    finally:
        cluster.stop()


# --- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_etcd(tmp_path_factory):
    """An etcd serving https with a private CA and asking for client certificates;
    authentication is off (the store does not enforce permissions)."""
    directory = tmp_path_factory.mktemp("etcd-tls")
    pki = make_tls(directory)
    cluster = start_cluster(directory, 1, tls=pki)
    try:
        cluster.ctl("put", DEFAULT, "ship", user=None)
        yield cluster
    finally:
        cluster.stop()


def test_tls_private_ca_and_client_certificate(tls_etcd, project, user_config):
    pki = tls_etcd.tls
    _config(
        user_config,
        tls_etcd.urls,
        extra=f'ca_file = "{pki["ca"]}"\ncert_file = "{pki["client"][0]}"\nkey_file = "{pki["client"][1]}"\n',
    )
    result = run(["resolve", "--refresh"], cwd=project, env=as_user(None))
    assert (result.returncode, result.stdout) == (0, "ship\n"), result.stderr
    status = run(["status", "--refresh"], cwd=project, env=as_user(None))
    assert "not enforced by the store" in status.stdout
    write = run(
        ["sync", "--direction", "resolved-to-cloud", "--scope", "c8", "--yes"], cwd=project, env=as_user(None)
    )
    assert write.returncode == 0, write.stderr
    assert tls_etcd.ctl("get", DEFAULT, "--print-value-only", user=None).strip() == "c8"


def test_tls_without_the_ca_is_refused_with_a_hint(tls_etcd, project, user_config):
    pki = tls_etcd.tls
    _config(
        user_config,
        tls_etcd.urls,
        extra=f'cert_file = "{pki["client"][0]}"\nkey_file = "{pki["client"][1]}"\n',
    )
    result = run(["resolve", "--refresh"], cwd=project, env=as_user(None))
    assert_clean_failure(result, 6, "CERTIFICATE_VERIFY_FAILED")
    assert "ca_file" in result.stderr


def test_tls_without_a_client_certificate_is_refused(tls_etcd, project, user_config):
    _config(user_config, tls_etcd.urls, extra=f'ca_file = "{tls_etcd.tls["ca"]}"\n')
    result = run(["resolve", "--refresh"], cwd=project, env=as_user(None))
    assert_clean_failure(result, 6, tls_etcd.url)


def test_enforce_mode_refuses_a_store_that_does_not_enforce(tls_etcd, project, user_config):
    pki = tls_etcd.tls
    _config(
        user_config,
        tls_etcd.urls,
        extra=f'ca_file = "{pki["ca"]}"\ncert_file = "{pki["client"][0]}"\nkey_file = "{pki["client"][1]}"\n',
    )
    user_config.write_text(user_config.read_text().replace('"cloud"', '"enforce"'))
    result = run(["resolve", "--refresh"], cwd=project, env=as_user(None))
    assert_clean_failure(result, 4, "not enforced")


# --- configuration (no etcd needed) ---------------------------------------------------------


def test_a_password_in_a_config_file_is_refused(project, user_config):
    user_config.write_text(
        '[cloud]\nbackend = "etcd"\nurl = "http://127.0.0.1:2379"\n'
        'user = "ana"\npassword = "hunter2hunter2"\n'
    )
    result = run(["resolve"], cwd=project, env=as_user(None))
    line = assert_clean_failure(result, 1, "CTXSCOPE_ETCD_PASSWORD")
    assert "hunter2hunter2" not in line


def test_backend_from_the_environment_and_comma_separated_urls(project, dead_url):
    other = dead_url.replace("127.0.0.1", "[::1]")
    env = as_user("ana", CTXSCOPE_CLOUD_BACKEND="etcd", CTXSCOPE_CLOUD_URL=f"{dead_url}, {other}")
    result = run(["resolve", "--refresh"], cwd=project, env=env)
    assert_clean_failure(result, 6, dead_url, other)
    bad = run(
        ["resolve"],
        cwd=project,
        env=as_user(None, CTXSCOPE_CLOUD_BACKEND="zookeeper", CTXSCOPE_CLOUD_URL=dead_url),
    )
    assert_clean_failure(bad, 1, "CTXSCOPE_CLOUD_BACKEND")


def test_plain_http_only_to_loopback(project, user_config):
    _config(user_config, ["http://127.0.0.1:2379", "http://etcd.example:2379"])
    result = run(["resolve"], cwd=project, env=as_user("ana"))
    assert_clean_failure(result, 1, "etcd.example", "https")


def test_a_list_of_urls_needs_the_etcd_backend(project, user_config):
    user_config.write_text('[cloud]\nurl = ["http://127.0.0.1:1", "http://127.0.0.1:2"]\n')
    result = run(["resolve"], cwd=project, env=as_user(None))
    assert_clean_failure(result, 1, "backend")


def test_prefix_must_be_absolute(project, user_config):
    _config(user_config, ["http://127.0.0.1:1"], extra='prefix = "ctxscope"\n')
    result = run(["resolve"], cwd=project, env=as_user("ana"))
    assert_clean_failure(result, 1, "prefix")


def test_permission_ranges_follow_etcd_rules():
    from ctxscope.etcd import _covers

    assert _covers(b"/p/scopes/a", b"", b"/p/scopes/a")
    assert not _covers(b"/p/scopes/a", b"", b"/p/scopes/ab")
    assert _covers(b"/p/scopes/c", b"/p/scopes/d", b"/p/scopes/c7")  # --prefix
    assert not _covers(b"/p/scopes/c", b"/p/scopes/d", b"/p/scopes/d")
    assert _covers(b"/p/", b"\0", b"/q/x")  # from the key to the end
