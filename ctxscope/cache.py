"""The cloud answer cache: one small JSON file per (URL, token) pair.

The key is a hash of the URL and of a hash of the token, so two tokens never
share answers and the token itself is never written. A corrupt or unreadable
cache is treated as empty and rebuilt on the next write; a cache that cannot be
written only costs speed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

from . import paths


class CloudCache:
    def __init__(self, url: str, token: str | None, directory: str | None = None) -> None:
        token_hash = hashlib.sha256((token or "").encode()).hexdigest()
        key = hashlib.sha256(f"{url}\0{token_hash}".encode()).hexdigest()[:32]
        self.path = os.path.join(directory or paths.cache_dir(), f"cloud-{key}.json")
        self.url = url
        self._entries: dict | None = None

    def _load(self) -> dict:
        if self._entries is None:
            from .fsutil import read_regular

            try:
                # ctxscope's own file: never through a link, only the user's, size-capped.
                data = json.loads(read_regular(self.path, follow=False, owner=True))
                ok = isinstance(data, dict) and data.get("url") == self.url
                self._entries = data.get("entries", {}) if ok else {}
                if not isinstance(self._entries, dict):
                    self._entries = {}
            except (OSError, ValueError, RecursionError):  # RecursionError: nested too deeply
                self._entries = {}
        return self._entries

    def get(self, name: str) -> tuple[object, float] | None:
        """The cached value and its age in seconds, or None."""
        entry = self._load().get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("at"), int | float):
            return None
        if entry["at"] > time.time() + 60:
            return None  # from the future (corrupt, or the clock went back): never fresh for ever
        return entry.get("value"), max(0.0, time.time() - entry["at"])

    def put(self, name: str, value: object) -> None:
        entries = self._load()
        entries[name] = {"value": value, "at": time.time()}
        self._save()

    def drop(self, name: str | None = None) -> None:
        """Forget one answer, or all of them (`repair` clears what it changed)."""
        if name is None:
            self._load().clear()
        else:
            self._load().pop(name, None)
        self._save()

    def _save(self) -> None:
        from .fsutil import atomic_write_text, ensure_private_dir

        try:
            ensure_private_dir(os.path.dirname(self.path))
            text = json.dumps({"url": self.url, "entries": self._entries}, sort_keys=True)
            atomic_write_text(self.path, text, default_mode=0o600, own=True)
            # ctxscope's own file: private whatever mode an older or corrupt copy had
            # (just replaced by our own regular file, so this follows no link).
            os.chmod(self.path, 0o600)
        except Exception:  # a cache that cannot be written only costs speed
            pass
