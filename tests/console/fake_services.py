"""The four services' APIs as canned answers in the shapes they document (and contract 5.2 and
5.5 for what other branches are building), served on a real port so the console calls them as it
calls the real ones: fast tests of every page for every role, and of what a page does when an
endpoint is missing. It remembers what it was asked (path, method, body, token's scope).

What the real services do with those calls is tested in each service's own tests and, end to
end, in test_in_a_browser.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from loyalty_devkit.local_broker import free_port
from tests.support.apps import served

NOW = datetime.now(UTC)
T = NOW.isoformat()
CUSTOMER_COMMENT = "退款太慢了"
REDEMPTION = "6f1c2e1e-6c1b-4a53-9d0b-0d8f1f0a2b11"
CASE = "9f3c0e1e-6c1b-4a53-9d0b-0d8f1f0a2b11"
TIERS = ["bronze", "silver", "gold", "platinum"]


def _weeks(n: int) -> list[str]:
    return [f"2026-W{48 - n + k:02d}" for k in range(1, n + 1)]


CANNED: dict[tuple[str, str], Any] = {
    # points
    ("GET", "/v1/members/m-1/points"): {
        "member_id": "m-1",
        "available": 1200,
        "pending": 300,
        "held": 0,
        "lifetime_earned": 2000,
        "expiring": [{"points": 1200, "expires_at": T}],
    },
    ("GET", "/v1/members/m-1/points/lots"): {
        "member_id": "m-1",
        "items": [
            {
                "id": 1,
                "order_id": "o-1",
                "points": 1500,
                "remaining": 1200,
                "status": "available",
                "earned_at": T,
                "available_at": T,
                "expires_at": T,
            },
        ],
    },
    ("GET", "/v1/members/m-1/points/transactions"): {
        "items": [
            {
                "id": 3,
                "type": "redeem",
                "points": -500,
                "available_delta": -500,
                "pending_delta": 0,
                "held_delta": 0,
                "cause": {"redemption_id": REDEMPTION, "actor": "member:m-1"},
                "occurred_at": T,
                "recorded_at": T,
                "details": {},
            },
            {
                "id": 2,
                "type": "adjust",
                "points": 200,
                "available_delta": 200,
                "pending_delta": 0,
                "held_delta": 0,
                "cause": {"actor": "support:agent-7"},
                "occurred_at": T,
                "recorded_at": T,
                "details": {"reason": "goodwill"},
            },
            {
                "id": 1,
                "type": "earn",
                "points": 1500,
                "available_delta": 0,
                "pending_delta": 1500,
                "held_delta": 0,
                "cause": {"order_id": "o-1", "actor": "system:purchase"},
                "occurred_at": T,
                "recorded_at": T,
                "details": {"rules": []},
            },
        ],
        "next_cursor": "1",
    },
    ("POST", "/v1/members/m-1/adjustments"): {
        "id": 9,
        "member_id": "m-1",
        "points": 50,
        "reason": "x",
        "actor": "support:a",
        "created_at": T,
    },
    ("POST", f"/v1/members/m-1/redemptions/{REDEMPTION}/cancellation"): {"id": REDEMPTION},
    ("GET", "/v1/members/m-1/review"): {
        "member_id": "m-1",
        "flagged": True,
        "held_points": 300,
        "held_lots": [
            {
                "id": 2,
                "order_id": "o-2",
                "points": 300,
                "earned_at": T,
                "available_at": T,
                "expires_at": T,
            }
        ],
        "flags": [
            {
                "id": 4,
                "member_id": "m-1",
                "reason": "refunds",
                "threshold": "3",
                "observed": "4",
                "local_day": None,
                "flagged_at": T,
                "event_id": "9f3c0e1e-6c1b-4a53-9d0b-0d8f1f0a2b12",
                "status": "open",
                "review_id": None,
            }
        ],
    },
    ("POST", "/v1/members/m-1/review"): {
        "id": 1,
        "member_id": "m-1",
        "decision": "release",
        "reason": "x",
        "points": 300,
        "flag_ids": [4],
        "decided_by": "support:agent-7",
        "decided_at": T,
    },
    ("GET", "/v1/reports/points-flow"): {
        "weeks": 12,
        "items": [
            {
                "week": w,
                "starts_on": "2026-11-30",
                "earned": 100 * k,
                "redeemed": 40 * k,
                "expired": 5 * k,
                "reversed": 0,
                "adjusted": 0,
            }
            for k, w in enumerate(_weeks(12))
        ],
    },
    ("GET", "/v1/reports/liability"): {
        "as_of": T,
        "currency": "CNY",
        "point_value": "0.01",
        "available_points": 100000,
        "pending_points": 20000,
        "liability": "960.00",
        "breakage_rate": 0.2,
        "expiring_by_month": [{"month": "2027-01", "points": 3000}],
    },
    ("POST", "/v1/program/simulate"): {
        "member_id": "simulated-member",
        "tier": "gold",
        "points": 598,
        "available_at": T,
        "expires_at": T,
        "rules": [{"rule": "base", "points": 399, "detail": "1 per CNY"}],
    },
    ("GET", "/v1/program"): {
        "currency": "CNY",
        "tiers": {
            "ladder": [
                {"name": t, "threshold": str(th), "multiplier": m}
                for t, th, m in zip(
                    TIERS, (0, 5000, 20000, 50000), ("1.0", "1.25", "1.5", "2.0"), strict=True
                )
            ]
        },
    },
    ("POST", "/v1/program/backtest"): {
        "purchases": 10,
        "points_current": 1000,
        "points_candidate": 1300,
        "by_tier": {t: {"points_current": 250, "points_candidate": 325} for t in TIERS},
    },
    ("GET", "/v1/campaigns"): {
        "items": [{"campaign_id": "double-11", "starts_at": T, "ends_at": T, "multiplier": "2"}]
    },
    ("POST", "/v1/campaigns"): {"campaign_id": "new"},
    ("POST", "/v1/campaigns/double-11/end"): {"campaign_id": "double-11"},
    ("GET", "/v1/rewards"): {
        "items": [
            {
                "reward_id": "tea",
                "name": {"en": "Tea", "zh-CN": "茶"},
                "points": 500,
                "codes": "pool",
                "stock": 12,
                "min_tier": "silver",
                "available_from": None,
                "available_until": None,
                "per_member_limit": None,
                "coupon": {"value": "15.00", "currency": "CNY", "valid_days": 30},
                "status": "active",
                "created_at": T,
                "updated_at": T,
                "retired_at": None,
            },
        ],
        "next_cursor": None,
    },
    ("POST", "/v1/rewards/tea/codes"): {"reward_id": "tea", "added": 2, "stock": 14},
    # tiers
    ("GET", "/v1/members/m-1/tier"): {
        "member_id": "m-1",
        "tier": "silver",
        "qualifying_spend": "6000.00",
        "next_tier": "gold",
        "spend_to_next_tier": "14000.00",
        "tier_valid_until": T,
        "multiplier": "1.25",
        "benefits": {},
        "keep": None,
        "override_until": None,
    },
    ("GET", "/v1/members/m-1/tier/history"): {
        "items": [
            {
                "from_tier": "bronze",
                "to_tier": "silver",
                "direction": "up",
                "reason": "spend",
                "qualifying_spend": "6000.00",
                "valid_until": T,
                "changed_at": T,
            },
        ]
    },
    ("PUT", "/v1/members/m-1/tier"): {"member_id": "m-1", "tier": "gold"},
    ("GET", "/v1/reports/members"): {
        "as_of": T,
        "members": 100,
        "active_30_days": 40,
        "active_90_days": 70,
        "tiers": [{"tier": t, "members": 25, "share": 25.0} for t in TIERS],
    },
    # notifications
    ("GET", "/v1/members/m-1/notifications"): {
        "items": [
            {
                "id": REDEMPTION,
                "type": "tier_upgraded",
                "channel": "email",
                "status": "sent",
                "reason": None,
                "attempts": 1,
                "created_at": T,
                "scheduled_for": None,
                "sent_at": T,
                "failed_at": None,
                "updated_at": T,
                "causation_id": None,
            },
        ],
        "next_cursor": None,
    },
    # feedback
    ("GET", "/v1/members/m-1/feedback"): {
        "member_id": "m-1",
        "items": [
            {
                "feedback_id": CASE,
                "score": 3,
                "csat": None,
                "comment": CUSTOMER_COMMENT,
                "order_id": "o-1",
                "channel": "online",
                "tier": "silver",
                "source": "app",
                "answered_at": T,
                "goodwill_points": 100,
            },
        ],
    },
    ("GET", "/v1/members/m-1/insight"): {
        "member_id": "m-1",
        "segment": "loyal",
        "recency_days": 3,
        "frequency": 4,
        "monetary": "6000.00",
        "r_score": 5,
        "f_score": 3,
        "m_score": 4,
        "orders": 4,
        "repeat_customer": True,
        "clv": "6000.00",
        "average_order_value": "1500.00",
        "latest_nps_score": 3,
        "loyalty_index": 61,
        "as_of": T,
    },
    ("GET", "/v1/feedback/breakdown"): {
        "by": "week",
        "days": 84,
        "since": T,
        "items": [
            {"key": w, "responses": 10, "promoters": 5, "passives": 3, "detractors": 2, "nps": 30.0}
            for w in _weeks(4)
        ],
    },
    ("GET", "/v1/feedback/summary"): {
        "days": 84,
        "since": T,
        "responses": 40,
        "promoters": 20,
        "passives": 12,
        "detractors": 8,
        "nps": 30.0,
    },
    ("GET", "/v1/feedback/trend"): {
        "by": "tier",
        "weeks": 12,
        "since": T,
        "items": [
            {
                "week": w,
                "key": t,
                "responses": 5,
                "promoters": 3,
                "passives": 1,
                "detractors": 1,
                "nps": 40.0,
            }
            for w in _weeks(3)
            for t in ("bronze", "gold")
        ],
    },
    ("GET", "/v1/feedback/cases"): {
        "items": [
            {
                "feedback_id": CASE,
                "member_id": "m-1",
                "score": 3,
                "comment": CUSTOMER_COMMENT,
                "order_id": "o-1",
                "channel": "online",
                "tier": "silver",
                "answered_at": T,
                "state": "open",
                "assignee": None,
                "updated_at": None,
                "updated_by": None,
            },
        ],
        "counts": {"open": 1, "contacted": 0, "resolved": 0},
        "next_cursor": None,
    },
    ("PUT", f"/v1/feedback/cases/{CASE}"): {"feedback_id": CASE, "state": "contacted"},
    ("GET", "/v1/insights/segments"): {
        "members": 100,
        "repeat_purchase_rate": 42.0,
        "items": [
            {
                "segment": "loyal",
                "members": 100,
                "share": 100.0,
                "average_recency_days": 3.0,
                "average_frequency": 4.0,
                "average_monetary": "6000.00",
                "average_clv": "6000.00",
                "repeat_purchase_rate": 42.0,
                "repeaters": 42,
                "nps_responses": 10,
                "nps": 20.0,
                "computed_at": T,
            },
        ],
    },
    ("GET", "/v1/insights/retention"): {
        "months": 12,
        "cohorts": [
            {"cohort": "2026-10", "members": 50, "retention": [100.0, 40.0, 30.0]},
            {"cohort": "2026-11", "members": 20, "retention": [100.0, 35.0]},
        ],
    },
    ("GET", "/v1/insights/clv"): {
        "currency": "CNY",
        "members": 100,
        "average": "1500.00",
        "percentiles": {"p25": "300.00", "p50": "900.00", "p75": "2000.00", "p90": "5000.00"},
        "buckets": [
            {"low": "0", "high": "100", "members": 10},
            {"low": "100", "high": None, "members": 90},
        ],
        "computed_at": T,
    },
    ("GET", "/v1/insights/loyalty-index"): {
        "by_tier": [{"tier": t, "members": 25, "average": 50.0} for t in TIERS],
        "trend": [
            {
                "day": (NOW - timedelta(days=d)).date().isoformat(),
                "tier": "gold",
                "members": 25,
                "average": 60.0,
            }
            for d in (2, 1)
        ],
    },
    # every service
    ("GET", "/v1/dead-letters/summary"): {
        "hours": 24,
        "since": T,
        "items": [
            {
                "topic": "commerce.purchases",
                "code": "invalid-data",
                "count": 2,
                "waiting": 1,
                "latest_at": T,
            },
        ],
    },
    ("GET", "/v1/dead-letters"): {
        "items": [
            {
                "id": 7,
                "topic": "commerce.purchases",
                "code": "invalid-data",
                "detail": "total < 0",
                "event_type": "purchase.completed",
                "event_id": "e-7",
                "key": "m-1",
                "dead_lettered_at": T,
                "replayed_at": None,
                "replayed_by": None,
                "replay_outcome": None,
            },
        ],
        "next_cursor": None,
    },
    ("GET", "/v1/dead-letters/7"): {
        "id": 7,
        "topic": "commerce.purchases",
        "code": "invalid-data",
        "detail": "total < 0",
        "event_type": "purchase.completed",
        "event_id": "e-7",
        "key": "m-1",
        "dead_lettered_at": T,
        "replayed_at": None,
        "replayed_by": None,
        "replay_outcome": None,
        "position": "commerce.purchases:0:41",
        "headers": [{"name": "content-type", "value": "application/cloudevents+json"}],
        "value": '{"id": "e-7", "data": {"total": "-1.00"}}',
    },
    ("POST", "/v1/dead-letters/7/replay"): {"id": 7, "outcome": "applied"},
    ("POST", "/v1/dead-letters/replay"): {
        "replayed": 1,
        "outcomes": {"applied": 1},
        "remaining": 0,
    },
    ("GET", "/v1/audit-log"): {
        "items": [
            {
                "id": 1,
                "recorded_at": T,
                "actor": "agent-7",
                "scope": "loyalty:support",
                "action": "points.adjust",
                "member_id": "m-1",
                "details": {"points": 200},
                "trace_id": None,
            },
        ],
        "next_cursor": None,
    },
}


@dataclass
class FakeServices:
    url: str
    #: (method, path, body, scope) of every call, in order.
    calls: list[tuple[str, str, Any, str]] = field(default_factory=list)
    #: Paths that answer 404 as an unknown route would (an endpoint not built yet).
    missing: set[str] = field(default_factory=set)
    #: The Idempotency-Key of every call that sent one, in order.
    idempotency_keys: list[str] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT"])
        async def answer(path: str, request: Request) -> JSONResponse:
            route = f"/{path}"
            body = await request.json() if await request.body() else None
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            claims = jwt.decode(token, options={"verify_signature": False}) if token else {}
            self.calls.append((request.method, route, body, claims.get("scope", "")))
            if "idempotency-key" in request.headers:
                self.idempotency_keys.append(request.headers["idempotency-key"])
            if route in self.missing or (request.method, route) not in CANNED:
                return JSONResponse({"title": "Not Found", "status": 404}, status_code=404)
            return JSONResponse(CANNED[(request.method, route)])

        return app

    def asked(self, method: str, path: str) -> list[Any]:
        return [body for m, p, body, _ in self.calls if (m, p) == (method, path)]


@asynccontextmanager
async def fake_services() -> AsyncIterator[FakeServices]:
    port = free_port()
    fake = FakeServices(url=f"http://127.0.0.1:{port}")
    async with served(fake.app(), port):
        yield fake
