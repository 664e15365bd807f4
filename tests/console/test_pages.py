"""Every page of the console for every role, against the services' documented answers (served
by tests/console/fake_services.py): what each role may open, what it never sees, panels for what
a service does not offer yet, and each action reviewed before it is made, then made with the
operator's own token."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from tests.console.conftest import console, console_settings, csrf_in, sign_in
from tests.console.fake_services import (
    CASE,
    CUSTOMER_COMMENT,
    REDEMPTION,
    FakeServices,
    fake_services,
)

PAGES = [
    "/",
    "/members/m-1",
    "/program",
    "/rewards",
    "/feedback",
    "/loyalty",
    "/dead-letters",
    "/dead-letters/points/7",
    "/members/m-1/ledger?cursor=1",
    "/members/m-1/audit",
]
MAY_OPEN = {
    "support": {"/", "/members/m-1", "/feedback", "/members/m-1/ledger?cursor=1"},
    "marketing": {"/", "/program", "/rewards", "/feedback", "/loyalty"},
    "finance": {"/"},
    "admin": set(PAGES),
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeServices]:
    async with fake_services() as services:
        yield services


@pytest.fixture
async def client(fake: FakeServices) -> AsyncIterator[httpx.AsyncClient]:
    urls = {f"console_{s}_url": fake.url for s in ("points", "tiers", "notifications", "feedback")}
    async with console(console_settings(**urls)) as c:
        yield c


async def form_post(
    client: httpx.AsyncClient, page: str, action: str, **fields: Any
) -> httpx.Response:
    shown = await client.get(page)
    return await client.post(action, data={"csrf_token": csrf_in(shown.text), **fields})


@pytest.mark.parametrize("role", list(MAY_OPEN))
async def test_each_role_opens_its_pages_and_no_other(
    client: httpx.AsyncClient, fake: FakeServices, role: str
) -> None:
    await sign_in(client, role)
    for path in PAGES:
        page = await client.get(path)
        expected = 200 if path in MAY_OPEN[role] else 403
        assert page.status_code == expected, (role, path, page.text[-500:])
        if role in ("marketing", "finance"):
            assert CUSTOMER_COMMENT not in page.text, f"{role} sees a comment on {path}"
    scopes = {scope for *_, scope in fake.calls}
    assert scopes == {f"loyalty:{role}"}, "every call carries the operator's own token"


async def test_marketing_never_asks_for_a_member_s_data(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    await sign_in(client, "marketing")
    for path in MAY_OPEN["marketing"]:
        await client.get(path)
    asked = {path for _, path, *_ in fake.calls}
    assert not any(p.startswith("/v1/members/") for p in asked), asked
    assert "/v1/feedback/cases" not in asked


async def test_an_endpoint_a_service_does_not_offer_yet_is_a_plain_panel(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.missing |= {"/v1/program", "/v1/campaigns", "/v1/reports/liability"}
    await sign_in(client, "admin")
    program = await client.get("/program")
    assert program.status_code == 200
    assert program.text.count("Not available yet.") == 3, "tiers, campaigns, backtest"
    assert "Simulate a purchase" in program.text, "what exists still works"
    overview = await client.get("/")
    assert "does not offer Points liability" in overview.text


async def test_an_adjustment_is_reviewed_then_made_with_the_operator_s_token(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    await sign_in(client, "support", name="agent-7")
    review = await form_post(
        client, "/members/m-1", "/members/m-1/adjustments", points="50", reason="late parcel"
    )
    assert review.status_code == 200
    assert "Adjust m-1's points by +50?" in html.unescape(review.text)
    assert fake.asked("POST", "/v1/members/m-1/adjustments") == [], "nothing before the confirm"

    done = await client.post(
        "/members/m-1/adjustments",
        data={
            "csrf_token": csrf_in(review.text),
            "points": "50",
            "reason": "late parcel",
            "confirmed": "true",
        },
    )
    assert (done.status_code, done.headers["location"]) == (303, "/members/m-1")
    assert fake.asked("POST", "/v1/members/m-1/adjustments") == [
        {"points": 50, "reason": "late parcel"}
    ]
    assert "Adjusted by +50 points." in (await client.get("/members/m-1")).text
    assert "Adjusted by" not in (await client.get("/members/m-1")).text, "said once"


async def test_admin_actions_tier_override_and_cancellation(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    await sign_in(client, "admin")
    await client.post(
        "/preferences",
        data={"csrf_token": csrf_in((await client.get("/")).text), "tz": "Asia/Tokyo"},
    )
    await form_post(
        client,
        "/members/m-1",
        "/members/m-1/tier",
        tier="gold",
        reason="status match",
        until="2027-03-01T10:00",
        confirmed="true",
    )
    [override] = fake.asked("PUT", "/v1/members/m-1/tier")
    assert override == {
        "tier": "gold",
        "reason": "status match",
        "expires_at": "2027-03-01T10:00:00+09:00",
    }, "in the operator's zone"

    path = f"/members/m-1/redemptions/{REDEMPTION}/cancellation"
    review = await form_post(client, "/members/m-1", path, kind="points")
    assert "The points go back to their lots" in review.text
    await form_post(client, "/members/m-1", path, kind="points", confirmed="true")
    assert len(fake.asked("POST", f"/v1/members/m-1/redemptions/{REDEMPTION}/cancellation")) == 1


async def test_support_may_not_override_a_tier(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    await sign_in(client, "support")
    refused = await form_post(
        client,
        "/members/m-1",
        "/members/m-1/tier",
        tier="gold",
        reason="status match",
        until="2027-03-01T10:00",
        confirmed="true",
    )
    assert refused.status_code == 403
    assert fake.asked("PUT", "/v1/members/m-1/tier") == []


async def test_an_erasure_needs_the_member_id_typed_and_an_export_every_service(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    await sign_in(client, "admin")
    mistyped = await form_post(
        client, "/members/m-1", "/members/m-1/erasure", typed="m-2", confirmed="true"
    )
    assert mistyped.status_code == 303
    assert fake.asked("POST", "/v1/members/m-1/erasure-requests") == []
    page = await client.get("/members/m-1")
    assert "did not match" in page.text

    exported = await form_post(client, "/members/m-1", "/members/m-1/export", confirmed="true")
    assert exported.status_code == 303, "no service offers an export yet"
    assert "no export yet" in (await client.get("/members/m-1")).text


async def test_program_simulation_backtest_and_campaigns(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    await sign_in(client, "marketing")
    simulated = await form_post(
        client, "/program", "/program/simulation", total="399.00", channel="store", category="tea"
    )
    assert "It would earn 598 points at Gold." in simulated.text
    [asked] = fake.asked("POST", "/v1/program/simulate")
    assert asked["purchase"]["channel"] == "store"

    backtest = await form_post(
        client, "/program", "/program/backtest", days="30", **{"multiplier:gold": "3"}
    )
    figure = re.search(r'id="backtest-chart" data-figure=\'(.*?)\'', backtest.text, re.S)
    assert figure, backtest.text[-800:]
    drawn = orjson.loads(html.unescape(figure.group(1)))
    assert [s["name"] for s in drawn["data"]] == ["Current", "Candidate"]
    [candidate] = fake.asked("POST", "/v1/program/backtest")
    ladder = {t["name"]: t["multiplier"] for t in candidate["program"]["tiers"]["ladder"]}
    assert (ladder["gold"], ladder["silver"], candidate["days"]) == ("3", "1.25", 30)

    created = await form_post(
        client,
        "/program",
        "/program/campaigns",
        campaign_id="spring",
        starts_at="2027-03-01T00:00",
        ends_at="2027-03-08T00:00",
        multiplier="1.5",
        categories="tea, coffee",
        channels="app",
    )
    assert created.status_code == 303
    assert fake.asked("POST", "/v1/campaigns")[0]["categories"] == ["tea", "coffee"]
    review = await form_post(client, "/program", "/program/campaigns/double-11/end")
    assert "End campaign double-11 now?" in review.text
    await form_post(client, "/program", "/program/campaigns/double-11/end", confirmed="true")
    assert len(fake.asked("POST", "/v1/campaigns/double-11/end")) == 1


async def test_support_works_a_detractor_case(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    await sign_in(client, "support", name="agent-7")
    page = await client.get("/feedback")
    assert CUSTOMER_COMMENT in page.text
    await form_post(
        client, "/feedback", f"/feedback/cases/{CASE}", to="contacted", assignee="agent-7"
    )
    assert fake.asked("PUT", f"/v1/feedback/cases/{CASE}") == [
        {"state": "contacted", "assignee": "agent-7"}
    ]


async def test_dead_letters_are_read_and_replayed_one_or_all(
    client: httpx.AsyncClient, fake: FakeServices
) -> None:
    await sign_in(client, "admin")
    record = await client.get("/dead-letters/points/7")
    assert "application/cloudevents+json" in record.text
    assert "&#34;total&#34;: &#34;-1.00&#34;" in record.text, "the value, indented"
    await form_post(client, "/dead-letters/points/7", "/dead-letters/points/7/replay")
    assert "Replayed: applied." in (await client.get("/dead-letters/points/7")).text

    await form_post(
        client, "/dead-letters", "/dead-letters/replay", code="invalid-data", confirmed="true"
    )
    assert fake.asked("POST", "/v1/dead-letters/replay") == [{"code": "invalid-data"}] * 4


async def test_the_pages_switch_to_chinese_and_to_the_operator_s_zone(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "admin")
    await client.post(
        "/preferences",
        data={
            "csrf_token": csrf_in((await client.get("/")).text),
            "lang": "zh-CN",
            "tz": "Europe/London",
        },
    )
    page = await client.get("/members/m-1")
    assert '<html lang="zh-CN">' in page.text
    assert "积分流水" in page.text
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", page.text)
