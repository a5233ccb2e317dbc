"""Cloud source: the team's default scope (`GET /v1/scope`, or the etcd key), through the cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import CloudError, ConflictError, VerificationError
from ..scope import display, scope_problem, shown
from . import Reading, Written, reading

if TYPE_CHECKING:
    from ..config import Config
    from ..context import Context

NAME = "cloud"


def ignored_cloud(config: Config) -> str | None:
    """Why a project file's `[cloud]` is not used although it has one, when the reason is
    that the file changed since it was trusted (a `git pull`): "ignored: FILE:LINE changed
    since trusted (ctxscope trust)". None otherwise."""
    project = config.project
    if project is None or not project.changed_since_trust or project.error:
        return None
    cloud = project.data.get("cloud")
    if not isinstance(cloud, dict) or "url" not in cloud:
        return None
    return f"ignored: {project.where('cloud.url')} changed since trusted (ctxscope trust)"


class CloudSource:
    name = NAME

    def read(self, ctx: Context) -> Reading:
        cloud = ctx.cloud
        if cloud is None:
            ignored = ignored_cloud(ctx.config)
            if ignored:
                return reading(NAME, state="ignored", origin=ignored, problem=ignored)
            return reading(NAME, state="not_configured", origin="no [cloud] url")
        origin = cloud.scope_origin
        try:
            answer, age = cloud.scope()
        except CloudError as exc:
            last = cloud.last_known("scope")
            return reading(
                NAME,
                None,
                origin,
                "error",
                exc.message,
                error=exc,
                unreachable=exc.__class__.__name__ == "CloudUnreachable",
                last_known=last[0].get("scope") if last and isinstance(last[0], dict) else None,
                last_known_age=last[1] if last else None,
            )
        if age is not None:
            origin += f" (cached {age:.0f}s ago)"
        scope = answer.get("scope") if isinstance(answer, dict) else None
        revision = answer.get("revision") if isinstance(answer, dict) else None
        if scope is None:
            return reading(NAME, origin=origin, revision=revision, age=age)
        problem = scope_problem(scope)
        if problem:
            error = CloudError(f"cloud {origin}: default scope {display(scope)!r} {problem}")
            return reading(
                NAME, None, origin, "invalid", problem, raw=scope, error=error, revision=revision, age=age
            )
        return reading(NAME, scope, origin, "set", revision=revision, age=age)

    def read_fresh(self, ctx: Context) -> tuple[object, str]:
        """`GET /v1/scope` now, past the cache: (the scope as the cloud holds it, revision).

        Unlike a read for resolution, an invalid scope is returned as it is, so that
        `repair` can replace it (it needs the revision) and a read-back can show it.
        """
        cloud = ctx.cloud
        assert cloud is not None  # only a configured cloud is read past the cache or written
        answer = cloud.client.get_scope(allow_invalid=True)
        return answer["scope"], answer["revision"]

    def write(self, ctx: Context, value: str, *, revision: str, before: object = None) -> Written:
        """`PUT /v1/scope` with `If-Match: "<revision>"`, then read it back past the cache.

        A 412 is a conflict, reported with both values and never retried. The
        cached default scope is dropped whatever happens, so the next command asks.
        """
        cloud = ctx.cloud
        assert cloud is not None  # only a configured cloud is read past the cache or written
        target = cloud.scope_origin
        try:
            answer = cloud.client.put_scope(value, revision)
        except ConflictError:
            try:
                now_text = shown(self.read_fresh(ctx)[0])
            except CloudError:
                now_text = "unknown (it could not be read again)"
            raise ConflictError(
                f"cloud {target}: someone changed the default scope after it was read: it was "
                f"{shown(before)}, it is now {now_text}; {value!r} was not written",
                hint="nothing was retried; find out who changed it, then run the command again",
            ) from None
        finally:
            cloud.cache.drop("scope")
        read_back = getattr(cloud.client, "read_back", None)
        now = read_back(answer) if read_back else self.read_fresh(ctx)[0]
        if now != value:
            raise VerificationError(
                f"cloud {target}: read-after-write mismatch: wrote {value!r}, read back {shown(now)}",
                hint="something else changed the cloud default at the same moment; run "
                "`ctxscope status --refresh`",
            )
        return Written(target, before, value, True, True)
