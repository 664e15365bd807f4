"""What the console reads from the points service besides balances and the ledger: a member's
open lots (the member, support: recorded), and the program's points per week (marketing: no one
named)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loyalty_shared.http.auth import MARKETING_SCOPE, SUPPORT_SCOPE
from tests.points.conftest import ADMIN, ClockedPoints
from tests.support.tokens import bearer

AGENT = bearer("agent-7", scopes=(SUPPORT_SCOPE,))
MARKETING = bearer("mia", scopes=(MARKETING_SCOPE,))


async def test_a_member_s_lots_are_listed_soonest_expiry_first_with_what_is_left(
    clocked: ClockedPoints,
) -> None:
    now = clocked.clock()
    old = await clocked.buy("m-lots", "100.00", at=now - timedelta(days=60))
    new = await clocked.buy("m-lots", "50.00", at=now - timedelta(days=2))
    await clocked.credited("m-lots", 150)
    assert (await clocked.redeem("m-lots", 30)).status_code == 201

    answer = await clocked.api.get("/v1/members/m-lots/points/lots", headers=AGENT)
    assert answer.status_code == 200, answer.text
    lots = [
        (x["order_id"], x["points"], x["remaining"], x["status"]) for x in answer.json()["items"]
    ]
    assert lots == [(old, 100, 70, "available"), (new, 50, 50, "pending")]

    marketing = await clocked.api.get("/v1/members/m-lots/points/lots", headers=MARKETING)
    assert marketing.status_code == 403, "a member's lots are their data"
    audit = await clocked.api.get("/v1/audit-log", params={"member_id": "m-lots"}, headers=ADMIN)
    assert [e["action"] for e in audit.json()["items"]] == ["member.read"]


async def test_points_per_week_sum_the_ledger_by_when_entries_took_effect(
    clocked: ClockedPoints,
) -> None:
    now = clocked.clock()
    await clocked.buy("m-w1", "200.00", at=now - timedelta(days=7))
    await clocked.buy("m-w2", "80.00", at=now)
    await clocked.credited("m-w1", 200)
    await clocked.credited("m-w2", 80)
    clocked.clock.advance(timedelta(days=15))  # m-w1's points are available
    assert (await clocked.redeem("m-w1", 120)).status_code == 201
    assert (await clocked.adjust("m-w2", -5)).status_code == 201

    answer = await clocked.api.get(
        "/v1/reports/points-flow", params={"weeks": 6}, headers=MARKETING
    )
    assert answer.status_code == 200, answer.text
    weeks: list[dict[str, Any]] = answer.json()["items"]
    assert len(weeks) == 6
    assert [w["starts_on"] for w in weeks] == sorted(w["starts_on"] for w in weeks)
    totals = {k: sum(w[k] for w in weeks) for k in ("earned", "redeemed", "adjusted", "expired")}
    assert totals == {"earned": 280, "redeemed": 120, "adjusted": -5, "expired": 0}
    assert weeks[-1]["redeemed"] == 120, "this week: the redemption"
    assert "m-w1" not in answer.text
    support = await clocked.api.get("/v1/reports/points-flow", headers=AGENT)
    assert support.status_code == 403
