"""Helpers shared by the hardening suites (tests/test_hardening_*.py).

Every suite drives the installed `ctxscope` as a real process, so a hang, a
traceback or a crash is seen the way a user would see it. Figures for the
reliability report (benchmarks/reliability.py) are recorded with pytest's
`record_property`: `bad_inputs`, `faults`, `writers`, `kills`, `leak_checks`,
`leaks`.
"""

from __future__ import annotations

import contextlib
import datetime
import http.server
import ipaddress
import json
import os
import signal
import ssl
import subprocess
import threading
from pathlib import Path

from _command import CTXSCOPE as CTXSCOPE
from _command import Result, run_installed

# The token every hardening test runs with. tests/conftest.py scans each test's
# captured output and ctxscope's state/cache files for it (and for any
# CTXSCOPE_TOKEN set in the environment), so a leak anywhere fails the test.
CANARY = "ctxs-canary-Q7ZK2M9X4T"

# Generous bound for a command that must not hang: the cloud budget is 2 s by
# default; nothing here should come near this, and no test asserts a tight time.
HANG = 30


def env_with(**extra: str | None) -> dict[str, str]:
    """os.environ (already isolated by conftest) plus `extra`; None removes a variable."""
    env = dict(os.environ)
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args, *, cwd, env=None, timeout: float = HANG, stdin: str = ""):
    """The installed command in a real process, as the `ctx` fixture runs it (tests/
    _command.py), for the module-level helpers of these suites: `env` is the whole
    environment (default: env_with()); a hang past `timeout` fails the test with a clear
    message. stdin is a pipe, empty by default."""
    return run_installed(
        args, cwd=cwd, env=env if env is not None else env_with(), input=stdin, timeout=timeout
    )


def echo(args, result) -> None:
    """Print an in-process run into the test's captured output (shown on failure, and
    scanned for the token by the `no_token_leaks` check in conftest.py)."""
    print(f"$ ctxscope {' '.join(map(str, args))}  # exit {result.returncode}")
    if result.stdout:
        print(result.stdout.rstrip("\n"))
    if result.stderr:
        print("[stderr]", result.stderr.rstrip("\n"))


def call(args, *, cwd, env=None) -> Result:
    """Run the console script's `main` in this process (same parsing, same error boundary),
    with `env` as the whole environment and `cwd` as the working directory.

    For the large matrices, where a process per case would cost minutes; every
    matrix also runs its key command through `run` (a real process). Never for
    cases that could hang (FIFOs, servers): those always use `run`.
    """
    import io

    from ctxscope._entry import main

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(env if env is not None else saved_env)
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    result = Result(code, out.getvalue(), err.getvalue())
    echo(args, result)
    return result


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ctxscope: error:")]


def warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ctxscope: warning:")]


def assert_clean_failure(result, code: int, *needles: str) -> str:
    """Exit `code`, nothing on stdout, exactly one `ctxscope: error:` line naming `needles`,
    and no traceback. Returns the error line."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def snapshot(path) -> tuple:
    """Bytes (or link target), mtime and mode of a path, without following a final symlink."""
    p = Path(path)
    st = os.lstat(p)
    if p.is_symlink():
        content: object = ("link", os.readlink(p))
    elif p.is_dir():
        content = ("dir", sorted(os.listdir(p)))
    elif p.is_file():
        content = p.read_bytes()
    else:
        content = ("special", st.st_mode)
    return content, st.st_mtime_ns, st.st_mode


def tree_snapshot(root) -> dict:
    """snapshot() of every entry under `root` (symlinks not followed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root)] = snapshot(full)
    return out


def read_jsonl(path) -> list[dict]:
    """Every line must be a whole JSON object: a torn or merged line fails here."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    events = []
    for number, line in enumerate(lines, 1):
        try:
            value = json.loads(line)
        except ValueError:
            raise AssertionError(f"{path}:{number} is not whole JSON: {line[:200]!r}") from None
        assert isinstance(value, dict), (path, number, line[:200])
        events.append(value)
    return events


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a child started with start_new_session=True, and everything it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


# --- TLS: a private CA and an HTTPS server on loopback ----------------------------------


def _name(cn):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _make_ca():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("ctxscope test CA"))
        .issuer_name(_name("ctxscope test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_leaf(ca_key, ca_cert, names, *, expired=False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1))
        if expired
        else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))
    )
    alt = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names]
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(path: Path, *objs) -> str:
    from cryptography.hazmat.primitives import serialization

    chunks = []
    for obj in objs:
        if hasattr(obj, "public_bytes"):
            chunks.append(obj.public_bytes(serialization.Encoding.PEM))
        else:
            chunks.append(
                obj.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
    path.write_bytes(b"".join(chunks))
    return str(path)


class _Contract(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.paths.append(self.path)
        self.server.auth.append(self.headers.get("Authorization"))
        if self.path == "/v1/scope":
            body = {"scope": "tls-scope", "revision": "1"}
        else:
            body = {"scope": "tls-scope", "access": "read"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def make_pki(directory: Path) -> dict:
    """A private CA and leaf certificates for 127.0.0.1: good, wrong name, expired, and a
    self-signed one nobody trusts. Returns PEM paths: {"ca": path, leaf: (cert, key)}."""
    ca_key, ca_cert = _make_ca()
    leaves = {
        "good": _make_leaf(ca_key, ca_cert, ["127.0.0.1", "localhost"]),
        "wrong name": _make_leaf(ca_key, ca_cert, ["other.example"]),
        "expired": _make_leaf(ca_key, ca_cert, ["127.0.0.1"], expired=True),
    }
    out = {"ca": _pem(directory / "ca.pem", ca_cert)}
    for name, (key, cert) in leaves.items():
        out[name] = (_pem(directory / f"{name}.crt", cert), _pem(directory / f"{name}.key", key))
    self_key, self_cert = _make_ca()
    out["self-signed"] = (_pem(directory / "self.crt", self_cert), _pem(directory / "self.key", self_key))
    return out


def start_tls_server(cert: str, key: str):
    """An HTTPS server on 127.0.0.1 answering the v1 read calls; `.paths` and `.auth`
    record what it received. Stop it with `.shutdown()` and `.server_close()`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Contract)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.paths, server.auth = [], []
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"https://127.0.0.1:{server.server_address[1]}"
    return server
