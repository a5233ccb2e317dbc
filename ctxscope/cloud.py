"""The cloud v1 contract (docs/reference/cloud.md): an HTTP client and a cached view over it.

`CloudClient` speaks HTTP and nothing else; `Cloud` puts the cache, `--offline`,
`--refresh` and the command's time budget in front of it. httpx is imported
only when a request is really made, so a cached answer costs no import.
"""

from __future__ import annotations

import ipaddress
import json
import time
from urllib.parse import quote, urlsplit

from .cache import CloudCache
from .errors import CloudError, CloudUnreachable, ConfigError
from .sanitize import scrub
from .scope import display, scope_problem

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import httpx

MAX_BODY = 64 * 1024


def check_url(url: str, origin: str) -> str:
    """Refuse URLs that could leak the token: plain http is allowed only to loopback."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if not parts or parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{origin}: cloud URL {url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ConfigError(f"{origin}: cloud URL must not carry credentials; use CTXSCOPE_TOKEN")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"{origin}: cloud URL {url!r} uses plain http to a non-loopback host; use https",
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CloudClient:
    """One command's HTTP conversation with the cloud, bounded by one time budget.

    After a connect failure or a timeout the client refuses further calls: the
    budget is for the whole command, not per call.
    """

    def __init__(self, url: str, token: str | None, timeout: float, ca_file: str | None = None):
        self.url = url
        self._token = token
        self._deadline: float | None = None  # starts at the first request, see _http()
        self._timeout = timeout
        self._ca_file = ca_file
        self._client: httpx.Client | None = None
        self.down: CloudUnreachable | None = None

    def _http(self):
        if self._client is None:
            import httpx

            verify = _trust_store(self._ca_file)
            headers = {"Accept": "application/json", "User-Agent": "ctxscope"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            # A loopback cloud is never reached through a proxy: HTTP_PROXY / ALL_PROXY
            # would otherwise receive a plain-http request, bearer token included, and no
            # proxy can reach this machine's loopback anyway. Other hosts (https only)
            # follow HTTPS_PROXY / ALL_PROXY / NO_PROXY as usual; the trust store was
            # loaded above, so the environment is read only for proxies (and .netrc,
            # which never applies: the Authorization header is set).
            self._client = httpx.Client(
                headers=headers,
                follow_redirects=False,
                verify=verify,
                trust_env=not _is_loopback(urlsplit(self.url).hostname or ""),
            )
            from .deadline import bound

            # httpx bounds each socket operation, not the request: a server trickling
            # bytes would outlive any timeout. Clamp every operation to the budget.
            bound(self._client, self._budget_end)
        if self._deadline is None:
            # The budget is for talking to the cloud: it starts once httpx is imported and
            # the trust store loaded, which on a busy machine can take longer than the
            # whole budget and would report a reachable cloud as "no answer".
            self._deadline = time.monotonic() + self._timeout
        return self._client

    def _budget_end(self) -> float:
        """When the budget runs out (monotonic time); `_http()` starts it before any request."""
        assert self._deadline is not None
        return self._deadline

    def request(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ) -> tuple[int, dict | None, str]:
        """Make one call; return (status, parsed JSON body or None, URL)."""
        url = self.url + path
        if self.down:
            raise self.down
        import httpx

        client = self._http()
        deadline = self._budget_end()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.down = CloudUnreachable(f"cloud {url}: no answer within {self._timeout:g}s")
            self.down.timed_out = True
            raise self.down
        try:
            with client.stream(
                method, url, json=body, headers=headers, timeout=httpx.Timeout(remaining)
            ) as response:
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BODY:
                        raise CloudError(f"cloud {url}: answer body is larger than 64 KiB")
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("budget spent")
                    chunks.append(chunk)
                status = response.status_code
                location = response.headers.get("location")
        except httpx.TimeoutException:
            self.down = CloudUnreachable(f"cloud {url}: no answer within {self._timeout:g}s")
            self.down.timed_out = True
            raise self.down from None
        except httpx.ConnectError as exc:
            reason = _reason(exc)
            hint = None
            if "CERTIFICATE_VERIFY_FAILED" in reason:
                hint = (
                    'to trust a private CA: ca_file = "/path/to/ca.pem" under [cloud] in '
                    "the user config, or SSL_CERT_FILE=/path/to/ca.pem"
                )
            self.down = CloudUnreachable(f"cloud {url}: cannot connect: {reason}", hint=hint)
            raise self.down from None
        except httpx.HTTPError as exc:
            self.down = CloudUnreachable(f"cloud {url}: {type(exc).__name__}: {_reason(exc)}")
            raise self.down from None
        if 300 <= status < 400:
            raise CloudError(f"cloud {url}: redirect (HTTP {status}) to {location!r} refused")
        data = None
        raw = b"".join(chunks)
        if raw:
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError):  # RecursionError: nested too deeply
                if 200 <= status < 300:
                    raise CloudError(f"cloud {url}: answer is not JSON") from None
        return status, data, url

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def get_scope(self, *, allow_invalid: bool = False) -> dict:
        """GET /v1/scope -> {"scope": str|None, "revision": str}.

        `allow_invalid`: a scope of any JSON type is returned as it is (for `repair`,
        which replaces it and needs the revision); the status and shape checks stay.
        """
        status, data, url = self.request("GET", "/v1/scope")
        _expect_ok(status, url, self._token)
        if not isinstance(data, dict) or "scope" not in data or not isinstance(data.get("revision"), str):
            raise CloudError(f"cloud {url}: answer does not have the shape {{scope, revision}}")
        scope = data["scope"]
        if scope is not None and not isinstance(scope, str) and not allow_invalid:
            raise CloudError(f"cloud {url}: answer does not have the shape {{scope, revision}}")
        # A string that breaks the scope rules is returned as it is: the cloud source
        # shows it as `invalid` (reason cloud_invalid, fixed by `repair`): nothing is skipped.
        return {"scope": scope, "revision": data["revision"]}

    def get_access(self, scope: str) -> str | None:
        """GET /v1/scopes/{scope} -> "read", "write", or None when the token cannot see it."""
        status, data, url = self.request("GET", "/v1/scopes/" + quote(scope, safe=""))
        if status == 401 and not self._token:
            _expect_ok(status, url, self._token)  # no token at all: say that, not "no access"
        if status in (403, 404):
            return None
        _expect_ok(status, url, self._token)
        if (
            not isinstance(data, dict)
            or data.get("access") not in ("read", "write")
            or data.get("scope") != scope
        ):
            raise CloudError(f"cloud {url}: answer does not have the shape {{scope, access}}")
        return data["access"]

    def whoami(self) -> str:
        status, data, url = self.request("GET", "/v1/whoami")
        _expect_ok(status, url, self._token)
        if not isinstance(data, dict) or not isinstance(data.get("identity"), str) or not data["identity"]:
            raise CloudError(f"cloud {url}: answer does not have the shape {{identity}}")
        return data["identity"]

    def put_scope(self, scope: str, revision: str) -> dict:
        """PUT /v1/scope with If-Match; 412 is a conflict for the caller to report."""
        from .errors import ConflictError, UnauthorizedError

        status, data, url = self.request(
            "PUT",
            "/v1/scope",
            body={"scope": scope},
            headers={"If-Match": f'"{revision}"'},
        )
        if status == 412:
            raise ConflictError(f"cloud {url}: someone changed the default scope since it was read")
        if status in (401, 403):
            raise UnauthorizedError(
                f"cloud {url}: the token may not change the default scope (HTTP {status})"
            )
        _expect_ok(status, url, self._token)
        if not isinstance(data, dict) or not isinstance(data.get("revision"), str):
            raise CloudError(f"cloud {url}: answer does not have the shape {{scope, revision}}")
        _check_scope(data.get("scope"), url)
        return {"scope": data["scope"], "revision": data["revision"]}


def _trust_store(ca_file: str | None):
    """What verifies the server: `[cloud] ca_file`, else SSL_CERT_FILE / SSL_CERT_DIR, else
    certifi (httpx's default). Verification is never turned off.

    Loaded here rather than by httpx so that a CA file that is missing or holds no
    certificate is a one-line error instead of a traceback.
    """
    import os
    import ssl

    cafile: str | None = None
    capath: str | None = None
    if ca_file:
        where, cafile = f"[cloud] ca_file {ca_file}", os.path.expanduser(ca_file)
    elif os.environ.get("SSL_CERT_FILE"):
        where, cafile = f"SSL_CERT_FILE {os.environ['SSL_CERT_FILE']}", os.environ["SSL_CERT_FILE"]
    elif os.environ.get("SSL_CERT_DIR"):
        where, capath = f"SSL_CERT_DIR {os.environ['SSL_CERT_DIR']}", os.environ["SSL_CERT_DIR"]
    else:
        return True
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        raise ConfigError(f"{where}: cannot be loaded as CA certificates: {reason}") from None


TOKEN_HINT = (
    "set it in the environment: export CTXSCOPE_TOKEN=... (never in a config "
    "file); or remove [cloud] url to work without the cloud"
)


def _expect_ok(status: int, url: str, token: str | None = "") -> None:
    if status == 200:
        return
    if status in (401, 403) and not token:
        exc = CloudError(
            f"cloud {url}: HTTP {status}: CTXSCOPE_TOKEN is not set, so the request carried no token",
            hint=TOKEN_HINT,
        )
        exc.status = status
        raise exc
    meaning = {401: "the token was refused", 403: "the token may not read this"}.get(status, "")
    exc = CloudError(f"cloud {url}: HTTP {status}" + (f" ({meaning})" if meaning else ""))
    exc.status = status
    raise exc


def _check_scope(scope: object, url: str) -> None:
    problem = scope_problem(scope)
    if problem:
        raise CloudError(f"cloud {url}: scope {display(scope)!r} {problem}")


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _valid_cached(name: str, value: object) -> bool:
    """A cached answer must have the shape a live one has; anything else is corruption.

    Without this a hand-edited or half-corrupt cache could make the cloud look
    unset (a string where {scope, revision} belongs) or grant authorization
    (any non-null access value counted as visible).
    """
    if name == "scope":
        # An invalid scope string is a real answer (the cloud source reports it as
        # `cloud_invalid`), so it is cached like any other; only the shape is checked.
        return (
            isinstance(value, dict)
            and isinstance(value.get("revision"), str)
            and (value.get("scope") is None or isinstance(value["scope"], str))
        )
    if name.startswith("access:"):
        return value in (None, "read", "write")
    if name == "whoami":
        return isinstance(value, str) and value != ""
    if name == DOWN:
        return isinstance(value, str)
    return True


# A cloud that timed out is remembered for this many seconds: commands in that window
# (a prompt, the hook, a status in a loop) say it is unreachable at once instead of
# each waiting for the timeout again. --refresh, and every write, asks again.
DOWN_MEMORY = 30.0
DOWN = "unreachable"


class Cloud:
    """The cloud as the resolver sees it: cached answers first, the network when allowed.

    Every method returns `(value, age)` where age is None for a fresh network
    answer and the cache age in seconds otherwise. Errors raise CloudError /
    CloudUnreachable; `last_known(name)` then gives an expired answer for display.
    """

    backend = "http"

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float,
        ttl: float,
        ca_file: str | None = None,
        offline: bool = False,
        refresh: bool = False,
    ):
        self.url = url
        self.ttl = ttl
        self.offline = offline
        self.refresh = refresh
        self.cache = CloudCache(url, token)
        self._timeout, self._token, self._ca_file = timeout, token, ca_file
        self._client: CloudClient | None = None

    @property
    def client(self) -> CloudClient:
        if self._client is None:
            self._client = CloudClient(self.url, self._token, self._timeout, self._ca_file)
        return self._client

    @property
    def scope_origin(self) -> str:
        """Where the default scope is read, as the status table shows it."""
        return self.url + "/v1/scope"

    @property
    def principal(self) -> str:
        """Who the cloud answers for, in messages."""
        return "the token"

    def access_origin(self, scope: str) -> str:
        """What answers whether `scope` is visible, for messages."""
        return f"GET /v1/scopes/{scope}"

    def _valid(self, name: str, value: object) -> bool:
        return _valid_cached(name, value)

    def _cached(self, name: str, fetch):
        hit = None if self.refresh else self.cache.get(name)
        if hit is not None and not self._valid(name, hit[0]):
            hit = None  # a corrupt entry is ignored; the next answer overwrites it
        if self.offline:
            if hit is None:
                raise CloudUnreachable(f"cloud {self.url}: --offline and no cached answer")
            return hit
        if hit is not None and hit[1] <= self.ttl:
            return hit
        self._remembered_down()
        try:
            # An answer that holds the token (a cloud echoing it back) is neither kept nor
            # shown with it: every form of the token becomes `***`.
            value = scrub(fetch(), self._token) if self._token else fetch()
        except CloudUnreachable as exc:
            if getattr(exc, "timed_out", False):
                self.cache.put(DOWN, exc.message)
            raise
        if self.cache.get(DOWN) is not None:
            self.cache.drop(DOWN)
        self.cache.put(name, value)
        return value, None

    def _remembered_down(self) -> None:
        """Raise at once when the cloud timed out less than DOWN_MEMORY seconds ago."""
        if self.refresh:
            return
        hit = self.cache.get(DOWN)
        if hit is None or not _valid_cached(DOWN, hit[0]) or hit[1] > DOWN_MEMORY:
            return
        message = str(hit[0]).split(": ", 1)[-1]  # a str: _valid_cached() checked it
        raise CloudUnreachable(
            f"cloud {self.url}: unreachable, checked {hit[1]:.0f}s ago ({message}); not asked "
            f"again for {DOWN_MEMORY:g}s",
            hint="ctxscope status --refresh asks again now",
        )

    def new_budget(self) -> None:
        """Give the next calls a fresh time budget (after waiting for a person at a prompt).

        A cloud already found unreachable stays unreachable for the whole command.
        """
        if self._client is not None and self._client.down is None:
            self._client.close()
            self._client = None

    def last_known(self, name: str) -> tuple[object, float] | None:
        hit = self.cache.get(name)
        return hit if hit is not None and self._valid(name, hit[0]) else None

    def scope(self) -> tuple[dict, float | None]:
        return self._cached("scope", self.client.get_scope)

    def access(self, scope: str) -> tuple[str | None, float | None]:
        return self._cached(f"access:{scope}", lambda: self.client.get_access(scope))

    def whoami(self) -> tuple[str, float | None]:
        return self._cached("whoami", self.client.whoami)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
