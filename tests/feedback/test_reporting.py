"""NPS reporting for ops: the contract's summary, breakdowns by tier, channel and ISO week, and
comment search that works for Chinese (feedback issue, item 4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from loyalty_feedback.tier_projection.handlers import on_tier_changes
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.envelope import CloudEvent
from loyalty_shared.events.loyalty import TierChangedV1
from tests.feedback.conftest import Service, bought
from tests.support.events import tier_changed
from tests.support.tokens import bearer

ADMIN = bearer("ops-1", admin=True)


async def answer(api: httpx.AsyncClient, member_id: str, score: int, **body: Any) -> dict[str, Any]:
    response = await api.post(
        f"/v1/members/{member_id}/feedback",
        json={"score": score, **body},
        headers=bearer(member_id),
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_3_detractors_2_passives_and_5_promoters_make_an_nps_of_20(
    feedback_api: httpx.AsyncClient,
) -> None:
    for n, score in enumerate([0, 3, 6, 7, 8, 9, 9, 10, 10, 10]):
        await answer(feedback_api, f"m-n{n}", score)

    response = await feedback_api.get("/v1/feedback/summary?days=30", headers=ADMIN)

    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in ("responses", "promoters", "passives", "detractors")} == {
        "responses": 10,
        "promoters": 5,
        "passives": 2,
        "detractors": 3,
    }
    assert body["nps"] == 20


async def test_a_summary_without_answers_has_zero_responses_and_no_nps(
    feedback_api: httpx.AsyncClient,
) -> None:
    body = (await feedback_api.get("/v1/feedback/summary", headers=ADMIN)).json()

    assert (body["responses"], body["nps"]) == (0, None)


async def test_the_summary_counts_only_the_last_n_days(
    feedback: Service, feedback_api: httpx.AsyncClient
) -> None:
    await answer(feedback_api, "m-w1", 10)
    await answer(feedback_api, "m-w2", 0)
    async with feedback.pool.acquire() as conn:
        await conn.execute(
            "UPDATE feedback SET answered_at = answered_at - interval '40 days' "
            "WHERE member_id = 'm-w2'"
        )

    body = (await feedback_api.get("/v1/feedback/summary?days=30", headers=ADMIN)).json()

    assert (body["responses"], body["nps"]) == (1, 100)


@pytest.mark.parametrize("path", ["/v1/feedback/summary", "/v1/feedback/breakdown?by=tier"])
async def test_reports_are_for_admins_only(feedback_api: httpx.AsyncClient, path: str) -> None:
    assert (await feedback_api.get(path)).status_code == 401
    assert (await feedback_api.get(path, headers=bearer("m-1"))).status_code == 403


async def test_nps_by_tier_channel_and_week(
    feedback: Service, feedback_api: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    gold = tier_changed("m-g1", "gold")
    async with feedback.pool.acquire() as conn, conn.transaction():
        await on_tier_changes(
            conn,
            [Decoded(CloudEvent.model_validate(gold), TierChangedV1.model_validate(gold["data"]))],
        )
    await feedback.purchases(
        bought("m-g1", now, order_id="o-g1", channel="store"),
        bought("m-b1", now, order_id="o-b1", channel="app"),
    )
    await answer(feedback_api, "m-g1", 10, order_id="o-g1")
    await answer(feedback_api, "m-b1", 2, order_id="o-b1")
    await answer(feedback_api, "m-b2", 9)

    async def by(dimension: str) -> dict[str, tuple[int, float]]:
        response = await feedback_api.get(
            f"/v1/feedback/breakdown?by={dimension}&days=30", headers=ADMIN
        )
        assert response.status_code == 200, response.text
        return {i["key"]: (i["responses"], i["nps"]) for i in response.json()["items"]}

    assert await by("tier") == {"gold": (1, 100), "bronze": (2, 0)}
    assert await by("channel") == {"store": (1, 100), "app": (1, -100), "unknown": (1, 100)}
    iso = now.isocalendar()
    [(week, (responses, nps))] = (await by("week")).items()
    assert (week, responses) == (f"{iso.year}-W{iso.week:02d}", 3)
    assert nps == pytest.approx(33.3)
    refused = await feedback_api.get("/v1/feedback/breakdown?by=colour", headers=ADMIN)
    assert refused.status_code == 422


async def test_comments_are_searchable_by_chinese_text(
    feedback_api: httpx.AsyncClient,
) -> None:
    await answer(feedback_api, "m-c1", 2, comment="申请退款很麻烦\uff0c客服也不回复")
    await answer(feedback_api, "m-c2", 9, comment="物流很快\uff0c包装很好")
    await answer(feedback_api, "m-c3", 4, comment="Refund took two weeks")
    await answer(feedback_api, "m-c4", 6, comment="100% cotton? no, 50_50")

    async def search(text: str) -> list[str]:
        response = await feedback_api.get(
            "/v1/feedback/comments", params={"q": text}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        return sorted(i["member_id"] for i in response.json()["items"])

    assert await search("退款") == ["m-c1"]
    assert await search("很") == ["m-c1", "m-c2"]
    assert await search("refund") == ["m-c3"], "case-insensitive"
    assert await search("100%") == ["m-c4"]
    assert await search("0%") == ["m-c4"], "% is taken literally"
    assert await search("_") == ["m-c4"], "_ is taken literally"
    assert await search("退货") == []


async def test_comment_search_pages_with_a_cursor(feedback_api: httpx.AsyncClient) -> None:
    for n in range(5):
        await answer(feedback_api, f"m-p{n}", 5, comment=f"太贵了 {n}")

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "太贵", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await feedback_api.get("/v1/feedback/comments", params=params, headers=ADMIN)
        body = response.json()
        seen += [i["member_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break

    assert seen == [f"m-p{n}" for n in reversed(range(5))]


async def test_the_trigram_index_is_there_for_comment_search(feedback: Service) -> None:
    rows = await feedback.fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'feedback' AND indexname LIKE '%trgm'"
    )

    assert [r["indexname"] for r in rows] == ["feedback_comment_trgm"]
