"""Which service owns each public path: the one table behind the Kubernetes HTTPRoute
(deploy/generate.py writes deploy/apps/gateway/httproute.yaml from it) and the local gateway.

Not routed, on purpose: /healthz, /readyz, /metrics, /openapi.json and what is for operators
inside the cluster (OPERATOR_PATHS: each service's audit log and dead letters, and the reports
read by the operator console). The member id sits in the middle of the path, so member paths
are regular expressions. A member path every service answers (`/v1/members/{id}/export`) is
reached under the service's name: `/points/v1/members/...` is the points service's
`/v1/members/...`, and so on. Rules are tried in order; the first match wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SERVICES = ("points", "tiers", "notifications", "feedback")
#: The public API's host in Kubernetes (the HTTPRoute's hostname; the gateway document's server).
PUBLIC_HOST = "api.loyalty.example.com"
#: Operators' paths, with everything under them: inside the cluster (the console), never public.
OPERATOR_PATHS = ("/v1/audit-log", "/v1/dead-letters", "/v1/reports", "/v1/reviews")
DEFAULT_TIMEOUT_S = 15


@dataclass(frozen=True)
class Match:
    """A Gateway API path match."""

    kind: Literal["Exact", "PathPrefix", "RegularExpression"]
    value: str

    def matches(self, path: str) -> bool:
        if self.kind == "Exact":
            return path == self.value
        if self.kind == "PathPrefix":
            return path == self.value or path.startswith(self.value.rstrip("/") + "/")
        return re.fullmatch(self.value, path) is not None


@dataclass(frozen=True)
class Rule:
    """Paths sent to one service, within a timeout, with a prefix rewritten if `rewrite`."""

    service: str
    matches: tuple[Match, ...]
    timeout_s: int = DEFAULT_TIMEOUT_S
    #: (prefix matched, what the service is sent instead)
    rewrite: tuple[str, str] | None = None

    def upstream_path(self, path: str) -> str:
        if self.rewrite and path.startswith(self.rewrite[0]):
            return self.rewrite[1] + path[len(self.rewrite[0]) :]
        return path


def member(*names: str) -> Match:
    """`/v1/members/{id}/<name>` and everything under it, for each name."""
    return Match("RegularExpression", f"^/v1/members/[^/]+/({'|'.join(names)})(/.*)?$")


def prefix(value: str) -> Match:
    return Match("PathPrefix", value)


RULES: tuple[Rule, ...] = (
    # A backtest replays up to a year of purchases: the service stops it at
    # LOYALTY_POINTS_BACKTEST_TIMEOUT_S (120 s) and answers 503; the gateway waits a little longer.
    Rule("points", (Match("Exact", "/v1/program/backtest"),), timeout_s=130),
    Rule(
        "points",
        (
            member(
                "points",
                "redemptions",
                "adjustments",
                "holds",
                "rewards",
                "reward-redemptions",
                "review",
            ),
            # the operators' program, rewards and campaigns (their scopes, checked there)
            prefix("/v1/program"),
            prefix("/v1/rewards"),
            prefix("/v1/campaigns"),
        ),
    ),
    Rule("tiers", (member("tier"),)),
    Rule("notifications", (member("notifications", "preferences"),)),
    Rule(
        "feedback",
        (
            member("feedback", "insight"),
            prefix("/v1/feedback"),
            prefix("/v1/insights"),
            # survey answers from the link in an invitation email (a survey token, not a JWT)
            prefix("/v1/surveys"),
        ),
    ),
    *(
        Rule(s, (prefix(f"/{s}/v1/members"),), rewrite=(f"/{s}/v1/members", "/v1/members"))
        for s in SERVICES
    ),
)


def route(path: str) -> Rule | None:
    """The rule that routes `path`, or None when no service is reached there from outside."""
    return next((r for r in RULES if any(m.matches(path) for m in r.matches)), None)


def operator_only(path: str) -> bool:
    return any(path == p or path.startswith(f"{p}/") for p in OPERATOR_PATHS)
