"""Comments are a member's personal data: support (not marketing) searches them, and every member
whose comments a search showed is in the audit log; marketing reads the NPS reports. An answer
an operator gives for a member, and an operator's read of a member's insight, are recorded too."""

from __future__ import annotations

from typing import Any

import httpx

from loyalty_shared.http.auth import MARKETING_SCOPE, SUPPORT_SCOPE
from tests.feedback.test_reporting import answer
from tests.support.tokens import bearer

ADMIN = bearer("ops-1", admin=True)
AGENT = bearer("agent-7", scopes=(SUPPORT_SCOPE,))
ANALYST = bearer("analyst-1", scopes=(MARKETING_SCOPE,))


async def audit_log(api: httpx.AsyncClient) -> list[tuple[str, str, str | None]]:
    response = await api.get("/v1/audit-log", headers=ADMIN)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["items"]
    assert all("很" not in str(e["details"]) for e in entries), "what was searched is not kept"
    return [(e["actor"], e["action"], e["member_id"]) for e in entries]


async def test_support_searches_comments_and_each_member_shown_is_recorded(
    feedback_api: httpx.AsyncClient,
) -> None:
    await answer(feedback_api, "m-c1", 2, comment="申请退款很麻烦")
    await answer(feedback_api, "m-c2", 9, comment="物流很快")
    await answer(feedback_api, "m-c3", 4, comment="Refund took two weeks")

    assert (
        await feedback_api.get("/v1/feedback/comments", params={"q": "很"}, headers=ANALYST)
    ).status_code == 403
    assert (await feedback_api.get("/v1/feedback/summary", headers=ANALYST)).status_code == 200
    found = await feedback_api.get("/v1/feedback/comments", params={"q": "很"}, headers=AGENT)
    nothing = await feedback_api.get("/v1/feedback/comments", params={"q": "无"}, headers=AGENT)

    assert sorted(i["member_id"] for i in found.json()["items"]) == ["m-c1", "m-c2"]
    assert nothing.json()["items"] == []
    assert sorted(await audit_log(feedback_api)) == [
        ("agent-7", "feedback.comments.read", "m-c1"),
        ("agent-7", "feedback.comments.read", "m-c2"),
    ]


async def test_an_answer_given_for_a_member_and_a_read_of_their_insight_are_recorded(
    feedback_api: httpx.AsyncClient,
) -> None:
    await answer(feedback_api, "m-a1", 10)  # the member's own: not an operator's act
    given = await feedback_api.post("/v1/members/m-a1/feedback", json={"score": 3}, headers=ADMIN)
    assert given.status_code == 201
    assert (await feedback_api.get("/v1/members/m-a1/insight", headers=AGENT)).status_code == 200
    assert (
        await feedback_api.get("/v1/members/m-a1/insight", headers=bearer("m-a1"))
    ).status_code == 200

    assert await audit_log(feedback_api) == [
        ("agent-7", "member.read", "m-a1"),
        ("ops-1", "feedback.answer", "m-a1"),
    ]
