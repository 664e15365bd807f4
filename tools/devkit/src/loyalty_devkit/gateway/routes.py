"""Which service owns each path, on which host, and how often a client may call: the one table
behind the Kubernetes HTTPRoutes and rate limits (deploy/generate.py writes
deploy/apps/gateway/ from it) and the local gateway.

Two hosts. The public one (PUBLIC_HOST: the mobile app, the survey page) routes the members'
endpoints only: those a member's own token is admitted to (`MemberAccess`, `MemberReadAccess`)
and the survey link's. The internal one (INTERNAL_HOST, inside the company network) routes
those too and the operators' endpoints: every one that admits operator scopes only
(adjustments, tier overrides, program, campaigns, rewards catalogue, reviews, reports, feedback
cases and insights, each service's audit log and dead letters). tests/platform/test_route_table.py
checks every documented operation is on the host its security requirement says.

Not routed on either host: /healthz, /readyz, /metrics, /openapi.json. The member id sits in
the middle of the path, so member paths are regular expressions; where one path has a member's
method and an operator's (`/v1/members/{id}/tier`), the match names the method. A path every
service answers is reached under the service's name (`/points/v1/members/{id}/export`, and on
the internal host anything of the service's, `/points/v1/audit-log`). On a host, rules are
tried in order; the first match wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SERVICES = ("points", "tiers", "notifications", "feedback")
Host = Literal["public", "internal"]
#: The public API's host in Kubernetes (its HTTPRoute's hostname; the gateway document's server).
PUBLIC_HOST = "api.loyalty.example.com"
#: The operators' API host, on the internal Gateway (company network only), like the console's.
INTERNAL_HOST = "api.loyalty.internal.example.com"
HOSTNAMES: dict[Host, str] = {"public": PUBLIC_HOST, "internal": INTERNAL_HOST}
DEFAULT_TIMEOUT_S = 15
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Match:
    """A Gateway API match: a path, and the method when the path alone does not decide."""

    kind: Literal["Exact", "PathPrefix", "RegularExpression"]
    value: str
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and method != self.method:
            return False
        if self.kind == "Exact":
            return path == self.value
        if self.kind == "PathPrefix":
            return path == self.value or path.startswith(self.value.rstrip("/") + "/")
        return re.fullmatch(self.value, path) is not None


@dataclass(frozen=True)
class Rule:
    """Requests sent to one service within a timeout; `host` "public" rules are on both hosts,
    "internal" ones on the internal host only. `strip`: a prefix taken off before the service
    is called (the service's name, for paths reached under it)."""

    service: str
    host: Host
    matches: tuple[Match, ...]
    timeout_s: int = DEFAULT_TIMEOUT_S
    strip: str | None = None

    def upstream_path(self, path: str) -> str:
        if self.strip and path.startswith(f"{self.strip}/"):
            return path[len(self.strip) :]
        return path

    def on(self, host: Host) -> bool:
        return host == "internal" or self.host == "public"


def member(*names: str, method: str | None = None) -> Match:
    """`/v1/members/{id}/<name>` and everything under it, for each name."""
    return Match("RegularExpression", f"^/v1/members/[^/]+/({'|'.join(names)})(/.*)?$", method)


def prefix(value: str) -> Match:
    return Match("PathPrefix", value)


RULES: tuple[Rule, ...] = (
    # The members': the mobile app's and the survey page's.
    Rule(
        "points",
        "public",
        (
            member("points", "holds", "rewards"),
            # spending; a cancellation (an operator's) is below
            Match("RegularExpression", "^/v1/members/[^/]+/redemptions$"),
            Match("RegularExpression", "^/v1/members/[^/]+/reward-redemptions(/[^/]+)?$"),
        ),
    ),
    Rule("tiers", "public", (member("tier", method="GET"),)),
    Rule("notifications", "public", (member("notifications", "preferences"),)),
    Rule(
        "feedback",
        "public",
        (
            member("feedback", "insight"),
            # survey answers from the link in an invitation email (a survey token, not a JWT)
            prefix("/v1/surveys"),
        ),
    ),
    *(
        Rule(
            s,
            "public",
            (Match("RegularExpression", f"^/{s}/v1/members/[^/]+/export$"),),
            strip=f"/{s}",
        )
        for s in SERVICES
    ),
    # The operators': inside the company network only.
    # A backtest replays up to a year of purchases: the service stops it at
    # LOYALTY_POINTS_BACKTEST_TIMEOUT_S (120 s) and answers 503; the gateway waits a little longer.
    Rule("points", "internal", (Match("Exact", "/v1/program/backtest"),), timeout_s=130),
    Rule(
        "points",
        "internal",
        (
            member("adjustments", "review"),
            Match(
                "RegularExpression",
                "^/v1/members/[^/]+/(redemptions|reward-redemptions)/[^/]+/cancellation$",
            ),
            prefix("/v1/program"),
            prefix("/v1/rewards"),
            prefix("/v1/campaigns"),
            prefix("/v1/reviews"),
            prefix("/v1/reports/points-flow"),
            prefix("/v1/reports/liability"),
        ),
    ),
    Rule(
        "tiers",
        "internal",
        (
            Match("RegularExpression", "^/v1/members/[^/]+/tier$", "PUT"),
            prefix("/v1/reports/members"),
        ),
    ),
    Rule("feedback", "internal", (prefix("/v1/feedback"), prefix("/v1/insights"))),
    # anything of a service's under its name: each one's audit log and dead letters
    *(Rule(s, "internal", (prefix(f"/{s}/v1"),), strip=f"/{s}") for s in SERVICES),
)


def route(method: str, path: str, host: Host) -> Rule | None:
    """The rule that routes `method` `path` on `host`, or None when nothing is reached there."""
    return next(
        (r for r in RULES if r.on(host) and any(m.matches(method, path) for m in r.matches)),
        None,
    )


def host_of(method: str, path: str) -> Host | None:
    """The narrowest host that routes `method` `path`: public, internal, or None for neither."""
    if route(method, path, "public") is not None:
        return "public"
    return "internal" if route(method, path, "internal") is not None else None


Unit = Literal["Second", "Minute", "Hour", "Day"]


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` per `unit` from one client (its IP address) for what this selects on
    the public host: `methods` (all when empty) on paths matching `path` (all when None)."""

    name: str
    requests: int
    unit: Unit
    methods: tuple[str, ...] = ()
    path: str | None = None

    def applies(self, method: str, path: str) -> bool:
        return (not self.methods or method in self.methods) and (
            self.path is None or re.fullmatch(self.path, path) is not None
        )

    @property
    def notation(self) -> str:
        """The `limits` library's notation (`600/minute`)."""
        return f"{self.requests}/{self.unit.lower()}"


#: The public host's limits per client; a request counts against every limit that selects it
#: and is refused (429, Retry-After) when one is spent. Writes are stricter than reads, and the
#: cheapest to abuse (answers anyone can send, a survey token tried again and again) the most.
#: docs/operations.md#rate-limits says why these numbers.
RATE_LIMITS: tuple[RateLimit, ...] = (
    RateLimit("requests", 600, "Minute"),
    RateLimit("writes", 60, "Minute", methods=WRITES),
    RateLimit(
        "feedback-answers",
        20,
        "Hour",
        methods=("POST",),
        path="^/v1/members/[^/]+/feedback$|^/v1/surveys/.*$",
    ),
)
