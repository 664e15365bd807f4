"""Bad input goes to `<topic>.dlq` with its reason, and never holds up the events behind it."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from tests.points.test_crediting_purchases import balance_of
from tests.support.events import encode, envelope, purchase, purchase_data
from tests.support.kafka import publish, read_all
from tests.support.waiting import eventually

MEMBER = "m-5001"


def _invalid_purchases() -> list[tuple[str, bytes]]:
    """Every kind of invalid event the contract names, each with the code it must get."""

    def bad(**data: Any) -> bytes:
        return encode(envelope("purchase.completed", purchase_data(MEMBER, **data)))

    duplicate = purchase(MEMBER, "10.00", days_ago=30, order_id="o-dup")
    return [
        ("invalid-json", b"{not json"),
        ("invalid-json", "不是 JSON".encode("gb18030")),
        ("not-a-cloudevent", orjson.dumps({"id": "x", "type": "purchase.completed"})),
        ("not-a-cloudevent", orjson.dumps([1, 2, 3])),
        ("invalid-data", bad(total="-1.00")),
        ("invalid-data", bad(total=399.0)),
        ("invalid-data", bad(total="1.005")),
        ("invalid-data", bad(currency="XYZ")),
        ("invalid-data", bad(channel="fax")),
        ("invalid-data", bad(order_id="o" * 129)),
        (
            "invalid-data",
            bad(items=[{"sku": "s", "category": "c", "quantity": 0, "unit_price": "1.00"}]),
        ),
        (
            "subject-mismatch",
            encode(envelope("purchase.completed", purchase_data(MEMBER), subject="m-other")),
        ),
        ("ok", encode(duplicate)),
        ("duplicate-order", encode({**duplicate, "id": "another-event-id"})),
    ]


async def test_invalid_events_go_to_the_dead_letter_topic_and_valid_ones_behind_them_apply(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    bootstrap = broker.bootstrap
    cases = _invalid_purchases()
    messages: list[tuple[bytes | None, bytes]] = []
    for code, value in cases:
        messages.append((MEMBER.encode(), value))
        if code != "ok":  # a valid purchase right behind every invalid one, same partition
            messages.append((MEMBER.encode(), encode(purchase(MEMBER, "1.00", days_ago=30))))
    await publish(bootstrap, COMMERCE_PURCHASES, messages)

    expected_dead = [(code, value) for code, value in cases if code != "ok"]
    dead = await read_all(bootstrap, f"{COMMERCE_PURCHASES}.dlq", expect=len(expected_dead))

    assert [(dict(r.headers)["error.code"].decode(), r.value) for r in dead] == expected_dead
    for record in dead:
        headers = dict(record.headers)
        assert record.key == MEMBER.encode()
        assert headers["error.service"] == b"points"
        assert headers["error.detail"]
        assert headers["content-type"] == b"application/cloudevents+json"
    body = await eventually(
        lambda: balance_of(points_api, MEMBER), lambda b: b["available"] == 10 + len(expected_dead)
    )
    assert body["lifetime_earned"] == 10 + len(expected_dead)


async def test_an_unknown_event_type_is_skipped_and_counted_not_dead_lettered(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    bootstrap = broker.bootstrap
    unknown = envelope("purchase.gift_wrapped", {"member_id": MEMBER})
    await publish(
        bootstrap,
        COMMERCE_PURCHASES,
        [
            (MEMBER.encode(), encode(unknown)),
            (MEMBER.encode(), encode(purchase(MEMBER, "5.00", days_ago=30))),
        ],
    )

    await eventually(lambda: balance_of(points_api, MEMBER), lambda b: b["available"] == 5)
    metrics = (await points_api.get("/metrics")).text
    assert 'outcome="unknown_type"' in metrics
    assert await read_all(bootstrap, f"{COMMERCE_PURCHASES}.dlq", expect=1, timeout_s=2) == []
