"""The dead letters every service keeps for operators (loyalty_shared.dlq): listed by topic and
reason with their headers, replayed into the service that refused them once the cause is fixed
(applied, a duplicate, or refused again with a new dead letter), admins only, each replay in the
audit log. The points service stands for all four: the router and the table are shared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.http.auth import MARKETING_SCOPE, SUPPORT_SCOPE
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from tests.points.test_crediting_purchases import balance_of
from tests.points.test_refunds import refund, swept, waiting
from tests.support.events import encode, envelope, purchase, purchase_data
from tests.support.kafka import publish, publish_events, read_all
from tests.support.tokens import bearer
from tests.support.waiting import eventually

ADMIN = bearer("ops-1", admin=True)


async def letters(api: httpx.AsyncClient, **query: Any) -> list[dict[str, Any]]:
    response = await api.get("/v1/dead-letters", params=query, headers=ADMIN)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_refund_dead_lettered_for_its_missing_order_applies_when_replayed_after_it_came(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    late = refund("m-d1", "o-d1", "50.00", "r-d1")
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [late])
    await eventually(lambda: waiting(points_app), lambda n: n == 1)
    await swept(points_app, datetime.now(UTC) + timedelta(days=8))  # waited too long
    [letter] = await eventually(lambda: letters(points_api), lambda items: len(items) == 1)
    assert (letter["topic"], letter["code"], letter["key"]) == (
        COMMERCE_PURCHASES,
        "unknown-order",
        "m-d1",
    )
    assert letter["replay_outcome"] is None

    shown = (await points_api.get(f"/v1/dead-letters/{letter['id']}", headers=ADMIN)).json()
    assert shown["value"] == encode(late).decode(), "the record as it came"
    assert {h["name"] for h in shown["headers"]} >= {"content-type"}
    assert not any(h["name"].startswith("error.") for h in shown["headers"])

    # the fix: the purchase arrives after all
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [purchase("m-d1", "100.00", days_ago=30, order_id="o-d1")],
    )
    await eventually(lambda: balance_of(points_api, "m-d1"), lambda b: b["available"] == 100)

    replayed = await points_api.post(f"/v1/dead-letters/{letter['id']}/replay", headers=ADMIN)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["outcome"] == "applied"
    assert (await balance_of(points_api, "m-d1"))["available"] == 50, "the refund took its half"

    again = await points_api.post(f"/v1/dead-letters/{letter['id']}/replay", headers=ADMIN)
    assert again.status_code == 409, "a dead letter is replayed once"
    audit = await points_api.get("/v1/audit-log", params={"member_id": "m-d1"}, headers=ADMIN)
    [entry] = [e for e in audit.json()["items"] if e["action"] == "dead_letter.replay"]
    assert entry["details"] == {
        "dead_letter_id": letter["id"],
        "topic": COMMERCE_PURCHASES,
        "code": "unknown-order",
        "outcome": "applied",
    }


async def test_a_record_still_wrong_is_refused_again_as_a_new_dead_letter(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    bad = encode(envelope("purchase.completed", purchase_data("m-d2", currency="XYZ")))
    await publish(broker.bootstrap, COMMERCE_PURCHASES, [(b"m-d2", bad)])
    [first] = await eventually(lambda: letters(points_api), lambda items: len(items) == 1)

    replayed = await points_api.post(f"/v1/dead-letters/{first['id']}/replay", headers=ADMIN)
    result = replayed.json()
    assert (result["outcome"], result["code"]) == ("refused", "invalid-data")
    newest, older = await letters(points_api)
    assert newest["id"] == result["dead_letter_id"]
    assert (newest["replay_outcome"], older["replay_outcome"]) == (None, "refused")
    assert (await letters(points_api, waiting="true")) == [newest]
    copies = await read_all(broker.bootstrap, f"{COMMERCE_PURCHASES}.dlq", expect=2)
    assert [c.value for c in copies] == [bad, bad], "the replay's refusal goes to the topic too"


async def test_replaying_a_topic_and_reason_at_once_reports_each_outcome(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    event = purchase("m-d3", "20.00", days_ago=30, order_id="o-d3")
    duplicate_order = {**event, "id": "another-id-same-order"}
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [event, duplicate_order])
    await publish(broker.bootstrap, COMMERCE_PURCHASES, [(b"m-d3", b"{not json")])
    await eventually(lambda: letters(points_api), lambda items: len(items) == 2)

    summary = await points_api.get("/v1/dead-letters/summary", headers=ADMIN)
    counts = {(i["code"], i["count"], i["waiting"]) for i in summary.json()["items"]}
    assert counts == {("duplicate-order", 1, 1), ("invalid-json", 1, 1)}

    report = await points_api.post(
        "/v1/dead-letters/replay", json={"code": "duplicate-order"}, headers=ADMIN
    )
    assert report.json() == {"replayed": 1, "outcomes": {"refused": 1}, "remaining": 1}
    assert (await balance_of(points_api, "m-d3"))["available"] == 20, "credited once"


async def test_dead_letters_are_for_admins_only(points_api: httpx.AsyncClient) -> None:
    for scope in (SUPPORT_SCOPE, MARKETING_SCOPE):
        who = bearer("someone", scopes=(scope,))
        assert (await points_api.get("/v1/dead-letters", headers=who)).status_code == 403
        replay = await points_api.post("/v1/dead-letters/replay", json={}, headers=who)
        assert replay.status_code == 403
