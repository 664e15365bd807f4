"""Behavioural loyalty: RFM scores and segments from the purchases and refunds seen, historic
CLV, repeat purchases, the loyalty index with the latest NPS, and segment changes as events
(feedback issue, item 5). Expectations are computed by hand from docs/loyalty-index.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from loyalty_devkit.local_broker import LocalBroker
from loyalty_feedback.insight.jobs import recompute_segments
from loyalty_shared.kafka.topics import LOYALTY_FEEDBACK
from tests.feedback.conftest import Service, bought, refunded
from tests.support.kafka import read_events
from tests.support.tokens import bearer

ADMIN = bearer("ops-1", admin=True)

#: member -> [(days ago, total)]: histories whose scores are worked out in EXPECTED.
HISTORIES: dict[str, list[tuple[int, str]]] = {
    "m-champ": [(10 + 20 * k, "500.00") for k in range(12)],  # last 10d, 12 orders, 6000
    "m-loyal": [(50, "300.00"), (100, "300.00"), (150, "300.00"), (200, "300.00")],
    "m-new": [(5, "199.00")],
    "m-potential": [(20, "1000.00"), (100, "1000.00")],
    "m-at-risk": [(200 + 20 * k, "1000.00") for k in range(6)],  # last 200d, 6 orders
    "m-hibernating": [(300, "100.00")],
    "m-attention": [(90, "600.00")],
    "m-refunded": [(10, "800.00"), (200, "300.00")],  # the recent one refunded in full
    "m-lapsed": [(400, "1000.00"), (420, "1000.00"), (440, "1000.00")],  # nothing in 365d
}

#: member -> (R, F, M, segment, orders, clv, loyalty index without NPS)
EXPECTED: dict[str, tuple[int, int, int, str, int, str, int]] = {
    # R: 10d <= 30 → 5; F: 12 >= 10 → 5; M: 6000 >= 5000 → 4; R>=4 & F>=4; (4+4+3)/12 = 91.7
    "m-champ": (5, 5, 4, "champions", 12, "6000.00", 92),
    # R: 50d <= 60 → 4; F: 4 >= 3 → 3; M: 1200 >= 500 → 2; not F>=4, R>=3 & F>=3; 6/12 = 50
    "m-loyal": (4, 3, 2, "loyal", 4, "1200.00", 50),
    # R: 5 → 5; F: 1 → 1; M: 199 → 1; R=5 & F=1; 4/12 = 33.3
    "m-new": (5, 1, 1, "new", 1, "199.00", 33),
    # R: 20 → 5; F: 2 → 2; M: 2000 → 3; R>=4 otherwise; 7/12 = 58.3
    "m-potential": (5, 2, 3, "potential", 2, "2000.00", 58),
    # R: 200 <= 240 → 2; F: 6 → 4; M: 6000 → 4; R<=2 & F>=3; 7/12 = 58.3
    "m-at-risk": (2, 4, 4, "at_risk", 6, "6000.00", 58),
    # R: 300 > 240 → 1; F 1; M 1; R<=2; 0
    "m-hibernating": (1, 1, 1, "hibernating", 1, "100.00", 0),
    # R: 90 <= 120 → 3; F: 1; M: 600 → 2; none of the above; 3/12 = 25
    "m-attention": (3, 1, 2, "needs_attention", 1, "600.00", 25),
    # the refunded order does not count: R from 200d → 2; F 1; M 300 → 1; 1/12 = 8.3
    "m-refunded": (2, 1, 1, "hibernating", 1, "300.00", 8),
    # R: 400 → 1; F: 0 in 365d → 1; M: 0 → 1; CLV counts all time
    "m-lapsed": (1, 1, 1, "hibernating", 3, "3000.00", 0),
}


@pytest.fixture
async def histories(feedback: Service) -> datetime:
    now = datetime.now(UTC)
    await feedback.purchases(
        *(
            bought(member, now - timedelta(days=days), order_id=f"o-{member}-{n}", total=total)
            for member, history in HISTORIES.items()
            for n, (days, total) in enumerate(history)
        )
    )
    await feedback.refunds(refunded("m-refunded", "o-m-refunded-0", "800.00", now))
    return now


async def insight(api: httpx.AsyncClient, member_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/members/{member_id}/insight", headers=bearer(member_id))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_rfm_segments_of_members_with_known_histories_match_hand_computed_ones(
    histories: datetime, feedback_api: httpx.AsyncClient
) -> None:
    for member, (r, f, m, segment, orders, clv, index) in EXPECTED.items():
        body = await insight(feedback_api, member)
        got = (body["r_score"], body["f_score"], body["m_score"], body["segment"])
        assert got == (r, f, m, segment), member
        assert (body["orders"], body["clv"], body["loyalty_index"]) == (orders, clv, index), member
        assert body["repeat_customer"] is (orders >= 2), member
        assert body["latest_nps_score"] is None


async def test_the_loyalty_index_weighs_in_the_latest_nps(
    histories: datetime, feedback_api: httpx.AsyncClient
) -> None:
    for score in (2, 10):  # the latest answer counts
        response = await feedback_api.post(
            "/v1/members/m-champ/feedback", json={"score": score}, headers=bearer("m-champ")
        )
        assert response.status_code == 201

    body = await insight(feedback_api, "m-champ")

    # 0.6 x 91.67 (behaviour) + 0.4 x 100 (latest score 10) = 95
    assert (body["latest_nps_score"], body["loyalty_index"]) == (10, 95)
    assert body["average_order_value"] == "500.00"


async def test_a_member_never_seen_has_no_segment_and_zeros(
    feedback_api: httpx.AsyncClient,
) -> None:
    body = await insight(feedback_api, "m-nobody")

    assert (body["segment"], body["frequency"], body["orders"], body["loyalty_index"]) == (
        None,
        0,
        0,
        0,
    )


async def test_a_member_sees_only_their_own_insight(feedback_api: httpx.AsyncClient) -> None:
    response = await feedback_api.get("/v1/members/m-1/insight", headers=bearer("m-2"))

    assert response.status_code == 403


async def test_segment_changes_are_events_once_and_again_when_time_moves_a_member(
    histories: datetime, feedback: Service, broker: LocalBroker
) -> None:
    now = histories

    first = await recompute_segments(feedback.pool, feedback.program, now)
    rerun = await recompute_segments(feedback.pool, feedback.program, now)
    later = await recompute_segments(feedback.pool, feedback.program, now + timedelta(days=100))

    assert (first, rerun) == (len(HISTORIES), 0)
    assert later >= 1
    events = await read_events(broker.bootstrap, LOYALTY_FEEDBACK, expect=first + later)
    changes = [e["data"] for e in events if e["type"] == "member.segment_changed"]
    assert len(changes) == first + later
    firsts = {c["member_id"]: c["to_segment"] for c in changes if c["from_segment"] is None}
    assert firsts == {member: expected[3] for member, expected in EXPECTED.items()}
    # 105 days after their only purchase the new member needs attention (R 3, F 1): win-back
    moved = [c for c in changes if c["member_id"] == "m-new" and c["from_segment"] == "new"]
    assert [(c["to_segment"], c["recency_days"]) for c in moved] == [("needs_attention", 105)]


async def test_segments_overview_for_ops(
    histories: datetime, feedback: Service, feedback_api: httpx.AsyncClient
) -> None:
    await recompute_segments(feedback.pool, feedback.program, histories)

    response = await feedback_api.get("/v1/insights/segments", headers=ADMIN)

    assert response.status_code == 200, response.text
    body = response.json()
    assert {i["segment"]: i["members"] for i in body["items"]} == {
        "champions": 1,
        "loyal": 1,
        "new": 1,
        "potential": 1,
        "at_risk": 1,
        "hibernating": 3,
        "needs_attention": 1,
    }
    assert body["members"] == 9
    # two orders or more: champ, loyal, potential, at-risk, lapsed = 5 of 9
    assert body["repeat_purchase_rate"] == pytest.approx(55.6)
    forbidden = await feedback_api.get("/v1/insights/segments", headers=bearer("m-champ"))
    assert forbidden.status_code == 403
