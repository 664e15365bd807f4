"""What the operator console reads from the feedback service: a member's answers (support,
recorded), NPS week by week per tier and channel, detractor answers as cases customer service
takes, contacts and resolves (support), and the loyalty measures marketing watches: retention by
first-purchase month, the spread of CLV, the loyalty index by tier and its trend (no one named)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from loyalty_feedback.insight.jobs import recompute_segments
from loyalty_feedback.tier_projection.handlers import on_tier_changes
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.envelope import CloudEvent
from loyalty_shared.events.loyalty import TierChangedV1
from loyalty_shared.http.auth import MARKETING_SCOPE, SUPPORT_SCOPE
from tests.feedback.conftest import Service, bought
from tests.feedback.test_reporting import answer
from tests.support.events import tier_changed
from tests.support.tokens import bearer

ADMIN = bearer("ops-1", admin=True)
AGENT = bearer("agent-7", scopes=(SUPPORT_SCOPE,))
MARKETING = bearer("mia", scopes=(MARKETING_SCOPE,))


async def get(api: httpx.AsyncClient, path: str, headers: dict[str, str], **query: Any) -> Any:
    response = await api.get(path, params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def make_gold(feedback: Service, member_id: str) -> None:
    event = tier_changed(member_id, "gold")
    decoded = Decoded(CloudEvent.model_validate(event), TierChangedV1.model_validate(event["data"]))
    async with feedback.pool.acquire() as conn, conn.transaction():
        await on_tier_changes(conn, [decoded])


async def test_a_member_s_answers_are_listed_newest_first_for_support(
    feedback_api: httpx.AsyncClient,
) -> None:
    await answer(feedback_api, "m-a1", 3, comment="送货太慢")
    await answer(feedback_api, "m-a1", 9)
    body = await get(feedback_api, "/v1/members/m-a1/feedback", AGENT)
    assert [(a["score"], a["comment"]) for a in body["items"]] == [(9, None), (3, "送货太慢")]
    marketing = await feedback_api.get("/v1/members/m-a1/feedback", headers=MARKETING)
    assert marketing.status_code == 403, "comments are personal data"
    audit = await get(feedback_api, "/v1/audit-log", ADMIN, member_id="m-a1")
    assert "member.read" in [e["action"] for e in audit["items"]]


async def test_nps_week_by_week_per_tier_and_per_channel(
    feedback: Service, feedback_api: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    await make_gold(feedback, "m-t1")
    await feedback.purchases(bought("m-t1", now, order_id="o-t1", channel="store"))
    await answer(feedback_api, "m-t1", 10, order_id="o-t1")
    await answer(feedback_api, "m-t2", 0)
    iso = now.isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"

    by_tier = await get(feedback_api, "/v1/feedback/trend", MARKETING, by="tier", weeks=4)
    assert [(i["week"], i["key"], i["responses"], i["nps"]) for i in by_tier["items"]] == [
        (week, "bronze", 1, -100),
        (week, "gold", 1, 100),
    ]
    by_channel = await get(feedback_api, "/v1/feedback/trend", MARKETING, by="channel")
    assert {i["key"] for i in by_channel["items"]} == {"store", "unknown"}
    assert by_channel["weeks"] == 12
    assert "m-t1" not in str(by_tier)


async def test_detractors_are_cases_support_takes_contacts_and_resolves(
    feedback_api: httpx.AsyncClient,
) -> None:
    late = await answer(feedback_api, "m-c1", 2, comment="快递丢了")
    quiet = await answer(feedback_api, "m-c2", 5)
    fan = await answer(feedback_api, "m-c3", 10, comment="great")

    cases = await get(feedback_api, "/v1/feedback/cases", AGENT)
    assert [(c["member_id"], c["state"], c["assignee"]) for c in cases["items"]] == [
        ("m-c2", "open", None),
        ("m-c1", "open", None),
    ], "every detractor answer, comment or not, and no promoter"
    assert cases["counts"] == {"open": 2, "contacted": 0, "resolved": 0}

    taken = await feedback_api.put(
        f"/v1/feedback/cases/{late['feedback_id']}",
        json={"state": "contacted", "assignee": "agent-7"},
        headers=AGENT,
    )
    assert taken.status_code == 200, taken.text
    assert (taken.json()["state"], taken.json()["updated_by"]) == ("contacted", "agent-7")
    open_now = await get(feedback_api, "/v1/feedback/cases", AGENT, state="open")
    assert [c["feedback_id"] for c in open_now["items"]] == [quiet["feedback_id"]]
    assert open_now["counts"] == {"open": 1, "contacted": 1, "resolved": 0}

    not_a_case = await feedback_api.put(
        f"/v1/feedback/cases/{fan['feedback_id']}", json={"state": "resolved"}, headers=AGENT
    )
    assert not_a_case.status_code == 404
    marketing = await feedback_api.get("/v1/feedback/cases", headers=MARKETING)
    assert marketing.status_code == 403, "cases carry comments: not for marketing"
    audit = await get(feedback_api, "/v1/audit-log", ADMIN, member_id="m-c1")
    actions = [(e["action"], e["details"]) for e in audit["items"]]
    assert (
        "feedback.case.update",
        {"feedback_id": late["feedback_id"], "state": "contacted", "assignee": "agent-7"},
    ) in actions
    assert "feedback.comments.read" in [a for a, _ in actions]


async def test_retention_by_first_purchase_month(
    feedback: Service, feedback_api: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    this_month = now.replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    await feedback.purchases(
        bought("m-r1", last_month, order_id="o-r1"),
        bought("m-r1", this_month, order_id="o-r2"),  # came back
        bought("m-r2", last_month + timedelta(days=1), order_id="o-r3"),  # did not
        bought("m-r3", this_month, order_id="o-r4"),
    )
    body = await get(feedback_api, "/v1/insights/retention", MARKETING, months=2)
    assert body["cohorts"] == [
        {"cohort": last_month.strftime("%Y-%m"), "members": 2, "retention": [100.0, 50.0]},
        {"cohort": this_month.strftime("%Y-%m"), "members": 1, "retention": [100.0]},
    ]


async def test_clv_spread_and_the_loyalty_index_by_tier_and_day(
    feedback: Service, feedback_api: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    await make_gold(feedback, "m-i1")
    await feedback.purchases(
        *(bought("m-i1", now - timedelta(days=10 * k), total="3000.00") for k in range(1, 8)),
        bought("m-i2", now - timedelta(days=300), total="80.00"),
    )
    await recompute_segments(feedback.pool, feedback.program, now)

    clv = await get(feedback_api, "/v1/insights/clv", MARKETING)
    assert (clv["members"], clv["currency"]) == (2, "CNY")
    counted = {b["low"]: b["members"] for b in clv["buckets"] if b["members"]}
    assert counted == {"0": 1, "10000": 1}, "80.00 and 21,000.00"
    assert clv["buckets"][-1]["high"] is None

    index = await get(feedback_api, "/v1/insights/loyalty-index", MARKETING)
    tiers = {t["tier"]: (t["members"], t["average"]) for t in index["by_tier"]}
    # m-i1: R 5, F 4 (7 orders), M 5 (21,000) → 11/12 → 92; m-i2: R 1, F 1, M 1 → 0
    assert tiers == {
        "bronze": (1, 0.0),
        "silver": (0, None),
        "gold": (1, 92.0),
        "platinum": (0, None),
    }
    assert [(d["tier"], d["average"]) for d in index["trend"]] == [("bronze", 0.0), ("gold", 92.0)]
    assert index["trend"][0]["day"] == now.date().isoformat()


@pytest.mark.parametrize(
    "path", ["/v1/insights/retention", "/v1/insights/clv", "/v1/insights/loyalty-index"]
)
async def test_loyalty_measures_are_marketing_s_not_support_s(
    feedback_api: httpx.AsyncClient, path: str
) -> None:
    assert (await feedback_api.get(path, headers=AGENT)).status_code == 403
    assert (await feedback_api.get(path, headers=MARKETING)).status_code == 200
