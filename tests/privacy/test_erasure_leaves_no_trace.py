"""The promise of an erasure, end to end over the four services (contract 5.4): a member with
contacts who got messages, answered a survey with a comment and was adjusted and upgraded by
operators asks to be forgotten; afterwards no text, JSON, date or stored record in any service's
database holds their name, email, phone, birthday or comment, their exports no longer show what
they showed before, and their points and tier are what they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson

from loyalty_devkit import members
from loyalty_feedback.invitations.jobs import send_invitations
from loyalty_feedback.invitations.sampling import sampled
from loyalty_feedback.state import FeedbackState
from loyalty_shared.http.state import state_of
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_FEEDBACK
from loyalty_shared.runtime import runtime_of
from tests.privacy.builders import (
    COMMENT,
    IDENTIFYING,
    NAME,
    PHONE,
    erase,
    profile,
    shop_publishes,
)
from tests.privacy.conftest import SERVICES, Platform
from tests.support.events import purchase
from tests.support.kafka import publish_events, read_all
from tests.support.tokens import bearer
from tests.support.waiting import eventually

MEMBER = "m-erase-1"
ADMIN = bearer("ops-1", admin=True)
SUPPORT = bearer("agent-1", scopes=("loyalty:support",))

#: Column types whose values are text somewhere: scanned as text, stored records as bytes.
TEXT_TYPES = {"text", "character varying", "character", "json", "jsonb", "date", "ARRAY", "bytea"}


async def traces_in(pool: asyncpg.Pool, needles: tuple[str, ...]) -> list[str]:
    """Every `table.column` of the database holding one of `needles`, with the needle."""
    found = []
    async with pool.acquire() as conn:
        columns = await conn.fetch(
            """
            SELECT table_name, column_name, data_type, udt_name FROM information_schema.columns
            WHERE table_schema = 'public' AND data_type = ANY($1::text[])
            ORDER BY table_name, column_name
            """,
            sorted(TEXT_TYPES),
        )
        for c in columns:
            column = f'"{c["table_name"]}"."{c["column_name"]}"'
            if c["udt_name"] == "bytea":
                values = [r[0] for r in await conn.fetch(f"SELECT {column} FROM {c['table_name']}")]
            elif c["udt_name"] == "_bytea":
                values = [
                    v
                    for r in await conn.fetch(f"SELECT {column} FROM {c['table_name']}")
                    for v in r[0] or ()
                ]
            else:
                sql = f"SELECT {column}::text FROM {c['table_name']}"
                values = [(r[0] or "").encode() for r in await conn.fetch(sql)]
            for needle in needles:
                if any(needle.encode() in (v or b"") for v in values):
                    found.append(f"{c['table_name']}.{c['column_name']}: {needle!r}")
    return found


def shown(export: list[members.ServiceExport]) -> dict[str, str]:
    """Each service's export document as the text a member reads."""
    assert all(e.document is not None for e in export), [e.error for e in export]
    return {e.service: orjson.dumps(e.document).decode() for e in export}


async def export(platform: Platform) -> dict[str, str]:
    clients = {s: platform.api[s] for s in SERVICES}
    for client in clients.values():
        client.headers.update(SUPPORT)
    try:
        return shown(await members.export(MEMBER, clients))
    finally:
        for client in clients.values():
            client.headers.pop("Authorization")


async def json_of(api: httpx.AsyncClient, path: str) -> Any:
    response = await api.get(path, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_erased_member_leaves_no_trace_of_who_they_are_and_keeps_their_points_and_tier(
    platform: Platform,
) -> None:
    api = platform.api
    # enrolled with contacts, then a purchase big enough for silver, sampled for a survey
    await shop_publishes(platform.bootstrap, profile(MEMBER))
    order_id = next(f"o-erase-{n}" for n in range(1000) if sampled(f"o-erase-{n}", 0.3))
    bought = purchase(MEMBER, total="6000.00", days_ago=4, order_id=order_id)
    await publish_events(platform.bootstrap, COMMERCE_PURCHASES, [bought])
    await eventually(
        lambda: platform.fetch(
            "feedback", "SELECT 1 FROM invitation WHERE order_id = $1", order_id
        ),
        bool,
    )
    app = platform.apps["feedback"]
    feedback = state_of(app, FeedbackState)
    await send_invitations(
        runtime_of(app).pool, feedback.program, feedback.survey_key, feedback.clock()
    )
    (requested,) = [
        orjson.loads(r.value or b"")
        for r in await read_all(platform.bootstrap, LOYALTY_FEEDBACK, expect=1)
    ]
    token = requested["data"]["survey_token"]
    answered = await api["feedback"].post(
        f"/v1/surveys/{token}/answers", json={"score": 3, "comment": COMMENT}
    )
    assert answered.status_code == 201, answered.text
    # operators wrote about the person in free text
    adjusted = await api["points"].post(
        f"/v1/members/{MEMBER}/adjustments",
        json={"points": 50, "reason": f"apology to {NAME}, called {PHONE}"},
        headers=ADMIN,
    )
    assert adjusted.status_code in (200, 201), adjusted.text
    overridden = await api["tiers"].put(
        f"/v1/members/{MEMBER}/tier",
        json={
            "tier": "gold",
            "reason": f"status match for {NAME}",
            "expires_at": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
        },
        headers=ADMIN,
    )
    assert overridden.status_code == 200, overridden.text

    def settled(rows: list[asyncpg.Record]) -> bool:
        sent = {(r["trigger"], r["status"]) for r in rows}
        return {
            ("tier_upgraded", "sent"),
            ("feedback_invitation", "sent"),
            ("detractor_alert", "suppressed"),
        } <= sent

    await eventually(
        lambda: platform.fetch(
            "notifications", "SELECT trigger, status FROM notification WHERE member_id = $1", MEMBER
        ),
        settled,
    )
    goodwill = 100  # the default program's, for a detractor answering about an order
    await eventually(
        lambda: json_of(api["points"], f"/v1/members/{MEMBER}/points"),
        lambda b: b["lifetime_earned"] >= 6000 + 50 + goodwill,
    )
    points_before = await json_of(api["points"], f"/v1/members/{MEMBER}/points")
    tier_before = await json_of(api["tiers"], f"/v1/members/{MEMBER}/tier")
    before = await export(platform)
    everything_before = "".join(before.values())
    assert [n for n in IDENTIFYING if n not in everything_before] == []
    assert all(n in before["notifications"] for n in IDENTIFYING[:5])  # contacts
    assert COMMENT in before["feedback"]
    assert "Zhang Wei" in before["points"]
    assert "Zhang Wei" in before["tiers"]

    assert await erase(platform.bootstrap, MEMBER) == set(SERVICES)

    for service in SERVICES:
        assert await traces_in(platform.pool(service), IDENTIFYING) == [], service
    after = await export(platform)
    for service, text in after.items():
        assert [n for n in IDENTIFYING if n in text] == [], service
        assert len(orjson.loads(text)["erasures"]) == 1, service
    assert await json_of(api["points"], f"/v1/members/{MEMBER}/points") == points_before
    tier_after = await json_of(api["tiers"], f"/v1/members/{MEMBER}/tier")
    assert (tier_after["tier"], tier_after["qualifying_spend"]) == (
        tier_before["tier"],
        tier_before["qualifying_spend"],
    )
