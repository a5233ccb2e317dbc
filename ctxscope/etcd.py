"""The cloud default kept in etcd v3, spoken over etcd's JSON gateway (backend `etcd`).

The same small interface as the v1 HTTP client (`get_scope`, `get_access`,
`whoami`, `put_scope`, `down`, `close`), so the resolver, the sources and
reconcile do not know which store answers. Keys (under `[cloud] prefix`,
default `/ctxscope`):

- `<prefix>/default` holds the team's default scope; its `mod_revision` is the
  revision a write compares against.
- `<prefix>/scopes/<scope>`: the user's permission on this key is its access to
  the scope (read -> "read", write or readwrite -> "write", none -> not visible).
  Nothing is ever stored there; an administrator grants roles on it.

The gateway speaks JSON over HTTP: POST /v3/<service>/<method>, keys and values
base64, 64-bit integers as strings, fields with a zero value left out. With
authentication on, POST /v3/auth/authenticate gives a token sent as the bare
`Authorization` header; a user may read its own user record and the roles it
holds, which is how permissions are learned without writing anything.

Endpoints are tried in order; each attempt gets an equal share of what is left
of the command's time budget, so one member that hangs cannot spend it all. A
member that is down, has no leader or times out is skipped for the rest of the
command. httpx is imported only when a request is really made.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .cache import CloudCache
from .cloud import MAX_BODY, Cloud, _reason, _trust_store, check_url
from .errors import (
    CloudError,
    CloudUnreachable,
    ConfigError,
    ConflictError,
    UnauthorizedError,
)

DEFAULT_PREFIX = "/ctxscope"
PASSWORD_VAR = "CTXSCOPE_ETCD_PASSWORD"
USER_VAR = "CTXSCOPE_ETCD_USER"
NOT_ENFORCED = "not_enforced"  # get_access() when the cluster has authentication off

# Gateway errors that say "this member cannot serve now; another one may".
_MEMBER_DOWN = (
    "no leader",
    "request timed out",
    "leader changed",
    "too many requests",
    "timed out",
    "not capable",
    "server is stopping",
    "unhealthy cluster",
    "not a leader",
    "raft: stopped",
)
_TOKEN_EXPIRED = ("invalid auth token", "revision of auth store is old")
_AUTH_OFF = "authentication is not enabled"
_BAD_LOGIN = "authentication failed"
_NO_USER = "user name is empty"
_DENIED = "permission denied"


def endpoints(value: object, origin: str) -> list[str]:
    """The endpoint URLs from `[cloud] url` (a string, comma-separated, or a list)."""
    items = value if isinstance(value, list) else str(value).split(",")
    found = [check_url(item.strip(), origin) for item in items if str(item).strip()]
    if not found:
        raise ConfigError(f"{origin}: no etcd endpoint in {value!r}")
    return list(dict.fromkeys(found))


def check_prefix(prefix: str, origin: str) -> str:
    if not prefix.startswith("/") or prefix.rstrip("/") == "" or "\n" in prefix:
        raise ConfigError(
            f"{origin}: etcd prefix {prefix!r} must start with '/' and name a "
            'directory, such as "/ctxscope"'
        )
    return prefix.rstrip("/")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a base64 string")
    return base64.b64decode(value, validate=True)


def _int(value: object) -> int:
    """An int64 as the gateway writes it: a decimal string, absent when zero."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("not an integer")
    return int(value)


class EtcdError(CloudError):
    """A gateway error answer: the member's message and gRPC code."""

    def __init__(self, message: str, *, detail: str = "", code: int = 0, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.detail, self.code = detail, code


class EtcdClient:
    """One command's conversation with an etcd cluster, bounded by one time budget."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        prefix: str = DEFAULT_PREFIX,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 2.0,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
    ) -> None:
        self.endpoints = list(urls)
        self.url = self.endpoints[0]
        self.prefix = prefix
        self.user = user
        self._password = password
        self._timeout = timeout
        self._tls = (ca_file, cert_file, key_file)
        self._client: Any = None
        self._deadline: float | None = None
        self._attempt_deadline = 0.0
        self._failed: dict[str, str] = {}
        self._token: str | None = None
        self._auth: str | None = None  # None (not asked yet), "token", "off", "anonymous"
        self._renewed = False
        self.requests = 0  # every POST sent, for the benchmarks
        self.down: CloudUnreachable | None = None

    # --- keys ----------------------------------------------------------------------------

    @property
    def default_key(self) -> str:
        return f"{self.prefix}/default"

    def scope_key(self, scope: str) -> str:
        return f"{self.prefix}/scopes/{scope}"

    # --- transport -----------------------------------------------------------------------

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            from .deadline import bound

            self._client = httpx.Client(
                headers={"Accept": "application/json", "User-Agent": "ctxscope"},
                follow_redirects=False,
                verify=_ssl_context(*self._tls),
                trust_env=True,
            )
            bound(self._client, lambda: self._attempt_deadline)
        if self._deadline is None:
            self._deadline = time.monotonic() + self._timeout
        return self._client

    def _post(self, path: str, body: dict, *, auth: bool = True) -> dict:
        """POST to the first endpoint that can answer; return its JSON object.

        A gateway error that is not about the member (permission denied, bad
        password...) is raised as EtcdError; an expired token is renewed once.
        """
        if self.down:
            raise self.down
        client = self._http()
        if auth and self._auth is None:
            self._login()
        while True:
            live = [e for e in self.endpoints if e not in self._failed]
            if not live:
                reasons = "; ".join(f"{e}: {r}" for e, r in self._failed.items())
                self.down = CloudUnreachable(
                    f"etcd: no endpoint answered ({reasons})", hint=_tls_hint(reasons)
                )
                raise self.down
            endpoint = live[0]
            now = time.monotonic()
            remaining = self._deadline - now if self._deadline is not None else 0.0
            if remaining <= 0:
                for e in live:
                    self._failed[e] = f"not tried, the {self._timeout:g}s budget was spent"
                continue
            self._attempt_deadline = now + remaining / len(live)
            headers = {"Authorization": self._token} if auth and self._token else {}
            failure = self._send(client, endpoint + path, body, headers)
            if isinstance(failure, str):
                self._failed[endpoint] = failure
                continue
            status, data = failure
            if status == 200:
                if not isinstance(data, dict):
                    raise CloudError(f"etcd {endpoint}{path}: answer is not a JSON object")
                return data
            detail, code = _error_of(data, status)
            if any(m in detail for m in _MEMBER_DOWN) or status in (502, 503, 504):
                self._failed[endpoint] = detail or f"HTTP {status}"
                continue
            if auth and self._token and any(m in detail for m in _TOKEN_EXPIRED) and not self._renewed:
                self._renewed = True  # renewed once per command, then it is an error
                self._token = None
                self._login()
                continue
            raise self._mapped(endpoint + path, detail, code, status)

    def _send(self, client: Any, url: str, body: dict, headers: dict) -> tuple[int, object] | str:
        """One HTTP exchange: (status, parsed body), or why this endpoint failed."""
        import httpx

        self.requests += 1
        try:
            with client.stream(
                "POST",
                url,
                json=body,
                headers=headers,
                timeout=httpx.Timeout(
                    max(self._attempt_deadline - time.monotonic(), 0.001),
                ),
            ) as response:
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BODY:
                        raise CloudError(f"etcd {url}: answer body is larger than 64 KiB")
                    chunks.append(chunk)
                status = response.status_code
        except httpx.TimeoutException:
            return "no answer in time"
        except httpx.ConnectError as exc:
            return f"cannot connect: {_reason(exc)}"
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {_reason(exc)}"
        if 300 <= status < 400:
            raise CloudError(f"etcd {url}: redirect (HTTP {status}) refused")
        raw = b"".join(chunks)
        try:
            return status, json.loads(raw) if raw else None
        except (ValueError, RecursionError):
            if status == 200:
                raise CloudError(f"etcd {url}: answer is not JSON") from None
            return status, None

    def _mapped(self, where: str, detail: str, code: int, status: int) -> CloudError:
        text = detail or f"HTTP {status}"
        if _BAD_LOGIN in detail:
            return EtcdError(
                f"etcd {where}: user {self.user!r} was refused: wrong user name or password",
                detail=detail,
                code=code,
                hint=f"check {USER_VAR} (or [cloud] user) and {PASSWORD_VAR}",
            )
        if _NO_USER in detail:
            return EtcdError(
                f"etcd {where}: the cluster requires a user and none is configured",
                detail=detail,
                code=code,
                hint=f"set [cloud] user (or {USER_VAR}) and {PASSWORD_VAR}",
            )
        if any(m in detail for m in _TOKEN_EXPIRED):
            return EtcdError(
                f"etcd {where}: the auth token was refused again after renewing it ({detail})",
                detail=detail,
                code=code,
            )
        return EtcdError(f"etcd {where}: {text}", detail=detail, code=code)

    def _login(self) -> None:
        """Authenticate once for the command; learn whether the cluster enforces auth."""
        name, password = self.user or "", self._password or ""
        if self.user and not self._password:
            raise ConfigError(
                f"etcd user {self.user!r} is configured but {PASSWORD_VAR} is not set",
                hint=f"export {PASSWORD_VAR}=... (never in a file)",
            )
        self._auth = "anonymous"  # what the next request runs as if this one fails
        try:
            answer = self._post("/v3/auth/authenticate", {"name": name, "password": password}, auth=False)
        except EtcdError as exc:
            if _AUTH_OFF in exc.detail:
                self._auth = "off"
                return
            if not self.user and (_BAD_LOGIN in exc.detail or _NO_USER in exc.detail):
                self._auth = None
                raise EtcdError(
                    f"etcd {self.url}: the cluster requires a user and none is configured",
                    detail=exc.detail,
                    code=exc.code,
                    hint=f"set [cloud] user (or {USER_VAR}) and {PASSWORD_VAR}",
                ) from None
            self._auth = None
            raise
        except CloudError:
            self._auth = None
            raise
        token = answer.get("token")
        if not isinstance(token, str) or not token:
            self._auth = None
            raise CloudError(f"etcd {self.url}: authenticate answered without a token")
        self._token, self._auth = token, "token"

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # --- the client interface ------------------------------------------------------------

    def _range(self, key: str) -> dict:
        """A linearizable read of one key: {"value": bytes|None, "mod_revision": int}."""
        try:
            data = self._post("/v3/kv/range", {"key": _b64(key)})
        except EtcdError as exc:
            if _DENIED in exc.detail:
                raise EtcdError(
                    f"etcd: user {self.user!r} may not read {key}",
                    detail=exc.detail,
                    code=exc.code,
                    hint="grant the user's role read on that key",
                ) from None
            raise
        try:
            kvs = data.get("kvs") or []
            if not isinstance(kvs, list) or len(kvs) > 1:
                raise ValueError("kvs")
            if not kvs:
                return {"value": None, "mod_revision": 0}
            kv = kvs[0]
            return {"value": _unb64(kv.get("value", "")), "mod_revision": _int(kv["mod_revision"])}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CloudError(
                f"etcd {self.url}: the range answer for {key} does not have the shape of a key-value"
            ) from None

    def get_scope(self, *, allow_invalid: bool = False) -> dict:
        """The default scope and its revision (`"0"` when the key does not exist).

        The value is returned as stored (decoded as UTF-8, bad bytes replaced): the
        cloud source reports a value outside the scope rules as invalid.
        """
        kv = self._range(self.default_key)
        value = kv["value"]
        scope = value.decode("utf-8", "replace") if value else None
        return {"scope": scope, "revision": str(kv["mod_revision"])}

    def read_back(self, written: dict) -> str | None:
        """The default as of the revision our write created, with a linearizable range.

        Reading at that revision checks our own write even when another writer
        has changed the key since (that later change is theirs, not a mismatch).
        """
        key = self.default_key
        data = self._post("/v3/kv/range", {"key": _b64(key), "revision": written["revision"]})
        try:
            kvs = data.get("kvs") or []
            value = _unb64(kvs[0].get("value", "")) if kvs else b""
        except (ValueError, TypeError, AttributeError, IndexError):
            raise CloudError(f"etcd {self.url}: the range answer for {key} is not a key-value") from None
        return value.decode("utf-8", "replace") if value else None

    def get_access(self, scope: str) -> str | None:
        """ "read", "write", None (not visible), or NOT_ENFORCED when auth is off."""
        if self._auth is None:
            self._login()
        if self._auth == "off":
            return NOT_ENFORCED
        if self._auth == "anonymous":  # pragma: no cover - _login raises instead
            return None
        key = self.scope_key(scope).encode()
        best: str | None = None
        for role in self._roles():
            if role == "root":
                return "write"
            for perm_type, start, end in self._permissions(role):
                if _covers(start, end, key):
                    found = "read" if perm_type == "READ" else "write"
                    if found == "write":
                        return "write"
                    best = found
        return best

    def _roles(self) -> list[str]:
        data = self._post("/v3/auth/user/get", {"name": self.user})
        roles = data.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise CloudError(f"etcd {self.url}: the user answer does not list roles")
        return roles

    def _permissions(self, role: str) -> Iterator[tuple[str, bytes, bytes]]:
        data = self._post("/v3/auth/role/get", {"role": role})
        perms = data.get("perm") or []
        try:
            for perm in perms:
                kind = perm.get("permType", "READ")  # READ is 0: left out
                if kind not in ("READ", "WRITE", "READWRITE"):
                    raise ValueError(kind)
                yield kind, _unb64(perm.get("key", "")), _unb64(perm.get("range_end", ""))
        except (ValueError, TypeError, AttributeError):
            raise CloudError(
                f"etcd {self.url}: the role answer for {role!r} does not have the shape of a permission list"
            ) from None

    def whoami(self) -> str:
        """The etcd user, once the cluster accepted its password (or auth is off)."""
        if not self.user:
            raise CloudError(
                "etcd: no user is configured, so there is no identity",
                hint=f"set [cloud] user (or {USER_VAR})",
            )
        if self._auth is None:
            self._login()
        return self.user

    def put_scope(self, scope: str, revision: str) -> dict:
        """One transaction: if MOD(default) == revision then put; else a conflict."""
        try:
            expected = int(revision)
        except ValueError:
            raise CloudError(f"etcd: revision {revision!r} is not a number") from None
        key = _b64(self.default_key)
        txn = {
            "compare": [{"target": "MOD", "key": key, "mod_revision": str(expected), "result": "EQUAL"}],
            "success": [{"request_put": {"key": key, "value": _b64(scope)}}],
        }
        try:
            data = self._post("/v3/kv/txn", txn)
        except EtcdError as exc:
            if _DENIED in exc.detail:
                raise UnauthorizedError(
                    f"etcd: user {self.user!r} may not change {self.default_key} (permission denied)",
                    hint="ask for write access to that key",
                ) from None
            raise
        if data.get("succeeded") is not True:
            raise ConflictError(f"etcd {self.url}: {self.default_key} changed since it was read")
        header = data.get("header") or {}
        try:
            new_revision = _int(header.get("revision"))
        except (ValueError, AttributeError):
            raise CloudError(f"etcd {self.url}: the txn answer has no revision") from None
        return {"scope": scope, "revision": str(new_revision)}


def _covers(start: bytes, end: bytes, key: bytes) -> bool:
    """Whether a permission [start, end) covers `key` (etcd's rules for range_end)."""
    if not end:
        return key == start
    if end == b"\0":
        return key >= start
    return start <= key < end


def _error_of(data: object, status: int) -> tuple[str, int]:
    if isinstance(data, dict):
        text = data.get("error") or data.get("message")
        code = data.get("code")
        return (str(text)[:200] if text else f"HTTP {status}", code if isinstance(code, int) else 0)
    return f"HTTP {status}", 0


def _tls_hint(reasons: str) -> str | None:
    if "CERTIFICATE_VERIFY_FAILED" in reasons:
        return (
            'to trust a private CA: ca_file = "/path/to/ca.pem" under [cloud] in the '
            "user config, or SSL_CERT_FILE=/path/to/ca.pem"
        )
    return None


def _ssl_context(ca_file: str | None, cert_file: str | None, key_file: str | None) -> Any:
    """The trust store (as for the v1 client), plus a client certificate when configured."""
    verify = _trust_store(ca_file)
    if not cert_file and not key_file:
        return verify
    import os
    import ssl

    if not cert_file:
        raise ConfigError("[cloud] key_file is set without cert_file")
    if verify is True:
        import certifi

        verify = ssl.create_default_context(cafile=certifi.where())
    try:
        verify.load_cert_chain(
            os.path.expanduser(cert_file), os.path.expanduser(key_file) if key_file else None
        )
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        raise ConfigError(
            f"[cloud] cert_file {cert_file}: cannot be loaded as a client certificate and key: {reason}"
        ) from None
    return verify


def _valid_access(value: object) -> bool:
    return value in (None, "read", "write", NOT_ENFORCED)


class EtcdCloud(Cloud):
    """The cached view (`Cloud`) over an etcd cluster instead of a v1 server."""

    backend = "etcd"

    def __init__(
        self,
        urls: Sequence[str],
        *,
        prefix: str,
        user: str | None,
        password: str | None,
        timeout: float,
        ttl: float,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        offline: bool = False,
        refresh: bool = False,
    ) -> None:
        self.endpoints = list(urls)
        self.prefix = prefix
        self.user = user
        super().__init__(
            ",".join(self.endpoints),
            None,
            timeout=timeout,
            ttl=ttl,
            ca_file=ca_file,
            offline=offline,
            refresh=refresh,
        )
        self.cache = etcd_cache(self.endpoints, prefix, user)
        self._password = password
        self._cert = (cert_file, key_file)

    @property
    def client(self) -> EtcdClient:  # type: ignore[override]
        if self._client is None:
            self._client = EtcdClient(  # type: ignore[assignment]
                self.endpoints,
                prefix=self.prefix,
                user=self.user,
                password=self._password,
                timeout=self._timeout,
                ca_file=self._ca_file,
                cert_file=self._cert[0],
                key_file=self._cert[1],
            )
        return self._client  # type: ignore[return-value]

    def _valid(self, name: str, value: object) -> bool:
        if name.startswith("access:"):
            return _valid_access(value)
        return super()._valid(name, value)

    @property
    def scope_origin(self) -> str:
        return f"etcd {self.endpoints[0]} key {self.prefix}/default"

    @property
    def principal(self) -> str:
        return f"etcd user {self.user!r}" if self.user else "the etcd client"

    def access_origin(self, scope: str) -> str:
        return f"etcd key {self.prefix}/scopes/{scope}"


def etcd_cache(urls: Sequence[str], prefix: str, user: str | None) -> CloudCache:
    """The answer cache for (endpoints, prefix, user): two users never share answers."""
    return CloudCache("etcd " + ",".join(urls) + " " + prefix, f"etcd-user:{user or ''}")


def watch_default(cloud: EtcdCloud, on_change: Callable[[], None], stop: Callable[[], bool]) -> None:
    """Follow `<prefix>/default` with etcd's watch; call `on_change` on every event.

    Runs until `stop()` (meant for a daemon thread). The stream is POST /v3/watch,
    one JSON object per line; when it breaks (a member went away, the token
    expired) it is opened again on the next endpoint after a short pause, with a
    fresh login. Errors are never raised: a watch that cannot connect leaves
    `status --watch` to its TTL-based polling.
    """
    import httpx

    key = _b64(f"{cloud.prefix}/default")
    attempt, failures = 0, 0
    seen: int | None = None  # the last store revision the stream reported
    while not stop():
        endpoint = cloud.endpoints[attempt % len(cloud.endpoints)]
        attempt += 1
        client = EtcdClient(
            [endpoint],
            prefix=cloud.prefix,
            user=cloud.user,
            password=cloud._password,
            timeout=cloud._timeout,
            ca_file=cloud._ca_file,
            cert_file=cloud._cert[0],
            key_file=cloud._cert[1],
        )
        try:
            client._http()
            client._login()
            headers = {"Authorization": client._token} if client._token else {}
            create: dict[str, object] = {"key": key}
            if seen is not None:  # resume where the broken stream stopped: miss nothing
                create["start_revision"] = str(seen + 1)
            body = {"create_request": create}
            http = httpx.Client(verify=_ssl_context(*client._tls), trust_env=True, follow_redirects=False)
            with (
                http,
                http.stream(
                    "POST",
                    endpoint + "/v3/watch",
                    json=body,
                    headers=headers,
                    timeout=httpx.Timeout(cloud._timeout, read=None),
                ) as resp,
            ):
                if resp.status_code != 200:
                    raise CloudError(f"watch: HTTP {resp.status_code}")
                for line in resp.iter_lines():
                    if stop():
                        return
                    try:
                        result = json.loads(line).get("result") or {}
                        revision = _int((result.get("header") or {}).get("revision"))
                    except (ValueError, AttributeError):
                        continue
                    if result.get("created"):
                        failures = 0
                    if result.get("events") or result.get("canceled"):
                        on_change()
                    if result.get("canceled"):
                        seen = None  # compacted past our revision: start from now
                        break
                    seen = max(seen or 0, revision)
        except Exception:  # a broken watch only falls back to polling
            pass
        finally:
            client.close()
        failures += 1
        for _ in range(min(10 * 2 ** min(failures - 1, 5), 300)):  # 1 s, doubling, to 30 s
            if stop():
                return
            time.sleep(0.1)


def settings(config: Any, env: Any) -> dict:
    """The etcd backend's settings from the config and environment, checked."""
    origin = config.origin("cloud.url")
    user = config["cloud.user"] or None
    return {
        "urls": endpoints(config["cloud.url"], origin),
        "prefix": check_prefix(config["cloud.prefix"], config.origin("cloud.prefix")),
        "user": user,
        "password": env.get(PASSWORD_VAR) or None,
        "ca_file": config["cloud.ca_file"],
        "cert_file": config["cloud.cert_file"],
        "key_file": config["cloud.key_file"],
    }


def make_cloud(config: Any, env: Any, *, offline: bool = False, refresh: bool = False) -> EtcdCloud:
    found = settings(config, env)
    return EtcdCloud(
        found.pop("urls"),
        timeout=float(config["cloud.timeout"]),
        ttl=float(config["cloud.cache_ttl"]),
        offline=offline,
        refresh=refresh,
        **found,
    )


def cache_path(config: Any, env: Any) -> str:
    """The cache file `status --watch` watches for this configuration."""
    found = settings(config, env)
    return etcd_cache(found["urls"], found["prefix"], found["user"]).path
