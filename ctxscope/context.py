"""What one command run knows: where it runs, its env, its flags, its config, its cloud.

The sources read from a Context, and the resolver makes one per resolution (or takes
the caller's). It lives below the resolver so that the sources can name it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import config as config_mod
from . import paths
from .errors import ConfigError

if TYPE_CHECKING:
    from .cloud import Cloud

__all__ = ["Context"]


class Context:
    """What one command run knows: where it runs, its env, its flags, its config, its cloud."""

    def __init__(
        self,
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        scope: str | None = None,
        offline: bool = False,
        refresh: bool = False,
        command: str = "api",
        config: config_mod.Config | None = None,
    ) -> None:
        self.cwd = os.path.abspath(cwd or paths.working_dir())
        self.env = os.environ if env is None else env
        self.flag_scope = scope
        self.offline = offline
        self.refresh = refresh
        self.command = command
        self.config = config or config_mod.load(self.cwd, self.env)
        self._cloud: Cloud | None = None

    @property
    def cloud(self) -> Cloud | None:
        """The cloud, or None when no URL is configured."""
        if self._cloud is None:
            url = self.config["cloud.url"]
            if not url:
                return None
            if self.config["cloud.backend"] == "etcd":
                from .etcd import make_cloud

                self._cloud = make_cloud(self.config, self.env, offline=self.offline, refresh=self.refresh)
                return self._cloud
            from .cloud import Cloud, check_url
            from .sanitize import read_token

            if isinstance(url, list):
                if len(url) != 1:
                    raise ConfigError(
                        f"{self.config.origin('cloud.url')}: a list of URLs needs "
                        '[cloud] backend = "etcd"; the http backend takes one URL'
                    )
                url = url[0]
            url = check_url(url, self.config.origin("cloud.url"))
            self._cloud = Cloud(
                url,
                read_token(self.env),
                timeout=float(self.config["cloud.timeout"]),
                ttl=float(self.config["cloud.cache_ttl"]),
                ca_file=self.config["cloud.ca_file"],
                offline=self.offline,
                refresh=self.refresh,
            )
        return self._cloud

    def close(self) -> None:
        if self._cloud is not None:
            self._cloud.close()
