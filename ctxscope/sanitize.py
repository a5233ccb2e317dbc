"""What may leave ctxscope: one cleaning step for every byte a person or a log will see.

Text that ctxscope prints often comes from outside: a project file from a cloned
repository, a file an observer reads, a key name, a cloud answer, a log line. Any
of it can hold terminal control sequences (ESC, CSI, OSC, C1 codes, bidi
overrides), the cloud token in some encoding, or a URL with a password in it.

`clean(text)` is the step: it replaces every encoding of the token with `***`,
masks the userinfo of URLs (`postgres://***@db/app`) and shows control and
format characters escaped (`\\x1b`, `\\u202e`). The escapes are valid inside a JSON
string as well (control characters below 0x20 never appear raw in JSON, and the
others are written as `\\uXXXX`), so the same step serves tables, error lines
and `--json`. `output.safe_streams()` applies it to stdout and stderr for the
whole command; the rich console (render.py) applies it to each value before the
table is laid out.

Only `re` is imported at module level: the prompt runs this on every prompt.
"""

from __future__ import annotations

import os
import re

TOKEN_VAR = "CTXSCOPE_TOKEN"

# Shortest token that is redacted: shorter strings would mangle ordinary words.
MIN_SECRET = 6

# C0 controls except tab and newline, DEL, C1 controls, and the invisible format
# characters that reorder or hide text (bidi embeddings, overrides and isolates,
# zero-width characters, line/paragraph separators, the byte order mark).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)

# scheme://userinfo@ : the userinfo (user, or user:password) is masked whole, since
# some services put the secret in the user part (https://KEY@sentry.example/1).
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,30}://)([^\s/@?#\"'<>\\]+)@")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """Control and format characters shown as escapes; tab and newline kept."""
    return _UNSAFE.sub(_escape, text)


def mask_url_credentials(text: str) -> str:
    """`scheme://user:password@host` -> `scheme://***@host`, anywhere in `text`."""
    if "@" not in text:
        return text
    return _URL_USERINFO.sub(r"\1***@", text)


def token_problem(token: str) -> str | None:
    """Why `token` cannot be sent as an HTTP header value, or None when it can.

    Never includes the token or any part of it.
    """
    if token != token.strip():
        ends = "ends" if token[:1].strip() else "starts"
        trailing = token[-1:] if ends == "ends" else token[:1]
        what = {"\r": "a carriage return", "\n": "a newline", "\t": "a tab"}.get(trailing, "a space")
        hint = " (a file with Windows line endings gives one)" if trailing == "\r" else ""
        return f"{ends} with {what}{hint}"
    for ch in token:
        if ord(ch) > 0x7E:
            return "holds a character that is not printable ASCII"
        if ord(ch) < 0x21:
            return "holds a control character or a space"
    return None


def read_token(env) -> str | None:
    """CTXSCOPE_TOKEN from `env`, checked before it goes near a request.

    Unset or empty gives None. A value that is not a valid header value raises a
    ConfigError that names the variable and never shows the value.
    """
    token = env.get(TOKEN_VAR) or None
    if token is None:
        return None
    problem = token_problem(token)
    if problem:
        from .errors import ConfigError

        raise ConfigError(
            f"{TOKEN_VAR} {problem}; it is not a valid HTTP header value, so it was not sent",
            hint=f'set it again without that character, e.g. export {TOKEN_VAR}="$(tr -d '
            "'\\r\\n' < token.txt)\"",
        )
    return token


_forms_cache: dict[str, tuple[str, ...]] = {}


def secret_forms(secret: str) -> tuple[str, ...]:
    """Every way `secret` can show up in text ctxscope writes, longest first.

    The raw value and its stripped core, and each of those repr'd, JSON-escaped
    (ASCII or not), URL-quoted, unicode-escaped, as bytes repr and as
    `escape_controls` shows it, and every pair of those encodings in a row.
    """
    cached = _forms_cache.get(secret)
    if cached is not None:
        return cached
    import json
    from urllib.parse import quote, quote_plus

    def encodings(value: str):
        yield value
        yield repr(value)[1:-1]
        yield json.dumps(value)[1:-1]
        yield json.dumps(value, ensure_ascii=False)[1:-1]
        yield escape_controls(value)
        raw = value.encode("utf-8", "surrogateescape")
        yield repr(raw)[2:-1]
        yield raw.decode("latin-1").encode("unicode_escape").decode("ascii")
        yield value.encode("unicode_escape", "backslashreplace").decode("ascii")
        yield quote(raw, safe="")
        yield quote(raw)
        yield quote_plus(raw)

    found: set[str] = set()
    for core in {secret, secret.strip()}:
        if len(core) < MIN_SECRET:
            continue
        # One encoding, and one applied to another (the repr of a JSON string, a
        # URL-quoted value shown with repr(), ...).
        for form in encodings(core):
            found.add(form)
            found.update(encodings(form))
    found = {form for form in found if len(form) >= MIN_SECRET}
    forms = tuple(sorted(found, key=len, reverse=True))
    _forms_cache[secret] = forms
    return forms


def current_secrets(env=None) -> tuple[str, ...]:
    """The forms of the token set in the environment (none when unset or too short)."""
    token = (os.environ if env is None else env).get(TOKEN_VAR)
    return secret_forms(token) if token else ()


_ALNUM = re.compile(r"[A-Za-z0-9]{4,}")


def _anchor(secret: str) -> str | None:
    """The longest run of letters and digits in `secret` (4 or more), or None."""
    runs = _ALNUM.findall(secret)
    return max(runs, key=len) if runs else None


# A run of this many characters of the token counts as the token: a value cut short
# for display (`'abc…'`) must not show most of it either.
FRAGMENT = 12

_windows_cache: dict[str, tuple[str, ...]] = {}


def _windows(secret: str) -> tuple[str, ...]:
    """Every run of FRAGMENT characters of `secret` (the whole of a shorter one)."""
    cached = _windows_cache.get(secret)
    if cached is None:
        core = secret.strip()
        size = min(FRAGMENT, len(core))
        cached = (
            tuple({core[i : i + size] for i in range(len(core) - size + 1)})
            if len(core) >= MIN_SECRET
            else ()
        )
        _windows_cache[secret] = cached
    return cached


def _mask_fragments(text: str, windows: tuple[str, ...]) -> str:
    """Replace every stretch of `text` made of the token's runs by `***`."""
    covered: list[tuple[int, int]] = []
    for window in windows:
        start = text.find(window)
        while start != -1:
            covered.append((start, start + len(window)))
            start = text.find(window, start + 1)
    if not covered:
        return text
    covered.sort()
    merged = [covered[0]]
    for start, end in covered[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out, last = [], 0
    for start, end in merged:
        out.append(text[last:start])
        out.append("***")
        last = end
    out.append(text[last:])
    return "".join(out)


def redact(text: str, forms: tuple[str, ...] | None = None) -> str:
    """`text` with every form of the token, and any long run of it, replaced by `***`."""
    if forms is None:
        token = os.environ.get(TOKEN_VAR)
        if not token:
            return text
        windows = _windows(token)
        anchor = _anchor(token)
        if anchor is not None and anchor not in text and not any(window in text for window in windows):
            # Every encoding keeps the token's longest run of letters and digits
            # whole, so text without it (and without a long run of the token) holds
            # no form of it: the common case, and it costs no import.
            return text
        forms = secret_forms(token)
    else:
        windows = ()
    for form in forms:
        if form in text:
            text = text.replace(form, "***")
    return _mask_fragments(text, windows) if windows else text


def clean(text: str) -> str:
    """The one step: token redacted, URL credentials masked, controls escaped."""
    return escape_controls(mask_url_credentials(redact(text)))


def needs_cleaning(text: str) -> bool:
    return clean(text) != text


def scrub(obj, secret: str | None = None):
    """`obj` (JSON-like) with every string redacted and URL credentials masked.

    For data written as JSON (the drift log, MCP answers, cached cloud answers):
    controls stay as they are there, since JSON escapes them itself. `secret`
    defaults to the token in the environment.
    """
    if secret is None:
        return _scrub(obj, None, ())
    return _scrub(obj, secret, secret_forms(secret) if len(secret.strip()) >= MIN_SECRET else ())


def _scrub(obj, secret: str | None, forms: tuple[str, ...]):
    if isinstance(obj, str):
        text = redact(obj) if secret is None else redact(obj, forms)
        if secret is not None and forms:
            text = _mask_fragments(text, _windows(secret))
        return mask_url_credentials(text)
    if isinstance(obj, dict):
        return {_scrub(k, secret, forms): _scrub(v, secret, forms) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_scrub(v, secret, forms) for v in obj]
    return obj
