"""A real etcd for the tests: members on free loopback ports, in a temporary data dir.

`start_cluster(tmp, n)` starts `n` members (client and peer URLs on 127.0.0.1,
ports chosen at run time, so pytest-xdist workers never collide), waits until
each answers /health, and returns an `EtcdCluster`; `.stop()` kills every
member by its PID. `setup_team()` turns authentication on with `etcdctl`:
the root user, one role per kind of access, the users the tests log in as.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"
ROOT_PASSWORD = "root-pw-8Hq2"
PASSWORDS = {"ana": "ana-pw-Xk81", "rita": "rita-pw-Mz40", "nina": "nina-pw-Lq77"}
PREFIX = "/ctxscope"


def available() -> bool:
    return os.path.exists(ETCD) and os.path.exists(ETCDCTL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Member:
    def __init__(self, name: str, data_dir: Path, client_port: int, peer_port: int, scheme: str) -> None:
        self.name, self.data_dir = name, data_dir
        self.client_port, self.peer_port = client_port, peer_port
        self.url = f"{scheme}://127.0.0.1:{client_port}"
        self.peer_url = f"http://127.0.0.1:{peer_port}"
        self.proc: subprocess.Popen | None = None
        self.log = data_dir.parent / f"{name}.log"

    def start(self, cluster: str, token: str, extra: list[str]) -> None:
        args = [
            ETCD,
            "--name",
            self.name,
            "--data-dir",
            str(self.data_dir),
            "--listen-client-urls",
            self.url,
            "--advertise-client-urls",
            self.url,
            "--listen-peer-urls",
            self.peer_url,
            "--initial-advertise-peer-urls",
            self.peer_url,
            "--initial-cluster",
            cluster,
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            token,
            "--heartbeat-interval",
            "50",
            "--election-timeout",
            "500",
            "--logger",
            "zap",
            "--log-outputs",
            str(self.log),
            *extra,
        ]
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=10)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class EtcdCluster:
    def __init__(self, members: list[Member], tls: dict | None) -> None:
        self.members = members
        self.tls = tls

    @property
    def urls(self) -> list[str]:
        return [m.url for m in self.members]

    @property
    def url(self) -> str:
        return self.members[0].url

    def ctl(
        self, *args: str, user: str | None = "root", check: bool = True, endpoints: list[str] | None = None
    ) -> str:
        """Run `etcdctl` (API v3) against the live members, as root by default."""
        live = endpoints or [m.url for m in self.members if m.alive]
        cmd = [ETCDCTL, "--endpoints", ",".join(live), "--dial-timeout", "3s", "--command-timeout", "5s"]
        if self.tls:
            cmd += [
                "--cacert",
                self.tls["ca"],
                "--cert",
                self.tls["client"][0],
                "--key",
                self.tls["client"][1],
            ]
        if user == "root":
            cmd += ["--user", f"root:{ROOT_PASSWORD}"]
        elif user:
            cmd += ["--user", f"{user}:{PASSWORDS[user]}"]
        proc = subprocess.run(
            [*cmd, *args], capture_output=True, text=True, timeout=30, env={**os.environ, "ETCDCTL_API": "3"}
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"etcdctl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def get(self, key: str) -> str | None:
        out = self.ctl("get", key, "--print-value-only")
        return out[:-1] if out.endswith("\n") else (out or None)

    def put(self, key: str, value: str) -> None:
        self.ctl("put", key, value)

    def leader(self) -> Member:
        """The member that leads now (asked through etcdctl's endpoint status)."""
        import json

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            proc = self.ctl("endpoint", "status", "-w", "json", user=None, check=False)
            with contextlib.suppress(ValueError):
                for row in json.loads(proc or "[]"):
                    status = row["Status"]
                    if status["header"]["member_id"] == status["leader"]:
                        return next(m for m in self.members if m.url == row["Endpoint"])
            time.sleep(0.2)
        raise AssertionError("no etcd leader")

    def stop(self) -> None:
        for member in self.members:
            member.kill()


def _healthy(url: str, context: ssl.SSLContext | None) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1, context=context) as resp:
            return b'"true"' in resp.read()
    except Exception:  # not up yet
        return False


def start_cluster(
    directory: Path,
    size: int = 1,
    *,
    token_ttl: int | None = None,
    tls: dict | None = None,
    attempts: int = 3,
) -> EtcdCluster:
    """Start `size` members and wait until every one is healthy (or raise).

    `tls`: {"ca": path, "server": (cert, key), "client": (cert, key)} serves https
    and asks for client certificates signed by the CA.
    """
    for attempt in range(attempts):
        scheme = "https" if tls else "http"
        members = [
            Member(f"m{i}", directory / f"a{attempt}-m{i}.etcd", free_port(), free_port(), scheme)
            for i in range(size)
        ]
        cluster = ",".join(f"{m.name}={m.peer_url}" for m in members)
        extra: list[str] = []
        if token_ttl is not None:
            extra += ["--auth-token-ttl", str(token_ttl)]
        context = None
        if tls:
            extra += [
                "--cert-file",
                tls["server"][0],
                "--key-file",
                tls["server"][1],
                "--trusted-ca-file",
                tls["ca"],
                "--client-cert-auth",
            ]
            context = ssl.create_default_context(cafile=tls["ca"])
            context.load_cert_chain(*tls["client"])
        token = f"ctxscope-{os.getpid()}-{members[0].client_port}"
        for m in members:
            m.start(cluster, token, extra)
        found = EtcdCluster(members, tls)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all(_healthy(m.url, context) for m in members):
                return found
            if any(not m.alive for m in members):
                break  # a port was taken meanwhile: start again on new ports
            time.sleep(0.1)
        found.stop()
    raise AssertionError(f"etcd did not start; see the logs in {directory}")


def setup_team(etcd: EtcdCluster) -> None:
    """Users, roles and authentication, the way an administrator would do it with etcdctl.

    - role `team` (user ana): readwrite on the default, readwrite on the scopes
      `ship` and `c*` (for the concurrent writers), read on `docs`;
    - role `viewer` (user rita): read on the default and on `ship`;
    - user nina has no role: she may read nothing.
    """
    ctl = etcd.ctl
    ctl("user", "add", f"root:{ROOT_PASSWORD}", user=None)
    ctl("user", "grant-role", "root", "root", user=None, check=False)  # 3.4 may do it itself
    for name in ("team", "viewer"):
        ctl("role", "add", name, user=None)
    ctl("role", "grant-permission", "team", "readwrite", f"{PREFIX}/default", user=None)
    ctl("role", "grant-permission", "team", "readwrite", f"{PREFIX}/scopes/ship", user=None)
    ctl("role", "grant-permission", "team", "--prefix", "readwrite", f"{PREFIX}/scopes/c", user=None)
    ctl("role", "grant-permission", "team", "read", f"{PREFIX}/scopes/docs", user=None)
    ctl("role", "grant-permission", "viewer", "read", f"{PREFIX}/default", user=None)
    ctl("role", "grant-permission", "viewer", "read", f"{PREFIX}/scopes/ship", user=None)
    for name, password in PASSWORDS.items():
        ctl("user", "add", f"{name}:{password}", user=None)
    ctl("user", "grant-role", "ana", "team", user=None)
    ctl("user", "grant-role", "rita", "viewer", user=None)
    ctl("auth", "enable", user=None)


def make_tls(directory: Path) -> dict:
    """A private CA, a server certificate for 127.0.0.1 and a client certificate.

    The server certificate may also act as a client (etcd's gateway dials its own
    gRPC port with it when client certificates are required).
    """
    import datetime
    import ipaddress

    from _hardening import _make_ca, _name, _pem
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_key, ca_cert = _make_ca()
    now = datetime.datetime.now(datetime.UTC)

    def leaf(cn: str, usages: list, alt: list) -> tuple:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        )
        if alt:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        return key, builder.sign(ca_key, hashes.SHA256())

    server_key, server_cert = leaf(
        "127.0.0.1",
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
    )
    client_key, client_cert = leaf("ctxscope-client", [ExtendedKeyUsageOID.CLIENT_AUTH], [])
    return {
        "ca": _pem(directory / "ca.pem", ca_cert),
        "server": (_pem(directory / "server.crt", server_cert), _pem(directory / "server.key", server_key)),
        "client": (_pem(directory / "client.crt", client_cert), _pem(directory / "client.key", client_key)),
    }
