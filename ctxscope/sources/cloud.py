"""Cloud source: the service's default scope (`GET /v1/scope`), through the cache."""

from __future__ import annotations

from ..errors import CloudError
from ..scope import display, scope_problem
from . import reading

NAME = "cloud"


class CloudSource:
    name = NAME

    def read(self, ctx):
        cloud = ctx.cloud
        if cloud is None:
            return reading(NAME, state="not_configured", origin="no [cloud] url")
        origin = cloud.url + "/v1/scope"
        try:
            answer, age = cloud.scope()
        except CloudError as exc:
            last = cloud.last_known("scope")
            return reading(NAME, None, origin, "error", exc.message, error=exc,
                           unreachable=exc.__class__.__name__ == "CloudUnreachable",
                           last_known=last[0].get("scope") if last and isinstance(last[0], dict) else None,
                           last_known_age=last[1] if last else None)
        if age is not None:
            origin += f" (cached {age:.0f}s ago)"
        scope = answer.get("scope") if isinstance(answer, dict) else None
        revision = answer.get("revision") if isinstance(answer, dict) else None
        if scope is None:
            return reading(NAME, origin=origin, revision=revision, age=age)
        problem = scope_problem(scope)
        if problem:
            error = CloudError(f"cloud {origin}: default scope {display(scope)!r} {problem}")
            return reading(NAME, None, origin, "invalid", problem, raw=scope, error=error,
                           revision=revision, age=age)
        return reading(NAME, scope, origin, "set", revision=revision, age=age)
