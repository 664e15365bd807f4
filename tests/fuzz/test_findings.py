"""What the fuzz tests found, each kept as the scenario it is, so it stays fixed whatever the
budget draws."""

from __future__ import annotations

import pytest

from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.runtime import runtime_of
from tests.security.conftest import SERVICES, RunningService
from tests.security.endpoints import ADMIN
from tests.support.events import encode, purchase
from tests.support.kafka import publish, read_all
from tests.support.tokens import bearer
from tests.support.waiting import eventually

MEMBER = "m-fuzz-cursor"
NUL_MEMBER = "m-fuzz-nul"
#: 19 digits, as the cursor's pattern allows, and past the largest bigint (2**63 - 1).
PAST_EVERY_ID = "9300000000000000000"


async def test_a_ledger_cursor_past_the_largest_id_pages_from_the_newest_entry_not_a_500(
    running_services: dict[str, RunningService],
) -> None:
    points = running_services["points"].api
    admin = bearer(ADMIN, admin=True)
    credited = await points.post(
        f"/v1/members/{MEMBER}/adjustments", json={"points": 7, "reason": "goodwill"}, headers=admin
    )
    assert credited.status_code == 201, credited.text

    page = await points.get(
        f"/v1/members/{MEMBER}/points/transactions",
        params={"cursor": PAST_EVERY_ID},
        headers=admin,
    )

    assert page.status_code == 200, page.text
    assert [entry["points"] for entry in page.json()["items"]] == [7]


@pytest.mark.parametrize("cursor", [PAST_EVERY_ID, "9999999999999999999"])
async def test_a_notification_history_cursor_past_the_largest_id_is_an_empty_page_not_a_500(
    running_services: dict[str, RunningService], cursor: str
) -> None:
    notifications = running_services["notifications"].api
    page = await notifications.get(
        f"/v1/members/{MEMBER}/notifications",
        params={"cursor": cursor},
        headers=bearer(ADMIN, admin=True),
    )

    assert page.status_code == 200, page.text
    assert page.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_with_a_body_documents_the_400_and_413_answered_before_it_runs(
    running_services: dict[str, RunningService], service: str
) -> None:
    document = running_services[service].app.openapi()
    with_body = {
        f"{method.upper()} {route}": set(operation["responses"])
        for route, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    assert with_body, f"{service} takes no body?"
    assert {op: {"400", "413"} <= answers for op, answers in with_body.items()} == dict.fromkeys(
        with_body, True
    )


#: Where the NUL is put, and the reason it is refused with.
NUL_IN = {"id": "not-a-cloudevent", "source": "not-a-cloudevent", "order_id": "invalid-data"}


async def test_an_event_with_a_nul_in_a_field_a_service_keeps_is_dead_lettered_and_stalls_nothing(
    running_services: dict[str, RunningService],
) -> None:
    """PostgreSQL stores no NUL in text: an event holding one in its id, its source or its order
    id failed its whole batch (the inbox keeps the id), retried for ever, and the purchases
    behind it on the partition waited."""
    points = running_services["points"]
    bootstrap = runtime_of(points.app).settings.kafka_bootstrap
    key = NUL_MEMBER.encode()
    messages: list[tuple[bytes | None, bytes]] = []
    for where in NUL_IN:
        poisoned = purchase(NUL_MEMBER, "10.00", days_ago=30)
        if where == "order_id":
            poisoned["data"]["order_id"] = "o-\x00-1"
        else:
            poisoned[where] += "\x00"
        behind = purchase(NUL_MEMBER, "10.00", days_ago=30)
        messages += [(key, encode(poisoned)), (key, encode(behind))]
    await publish(bootstrap, COMMERCE_PURCHASES, messages)

    await eventually(
        lambda: points.api.get(
            f"/v1/members/{NUL_MEMBER}/points", headers=bearer(ADMIN, admin=True)
        ),
        lambda r: r.status_code == 200 and r.json()["lifetime_earned"] == 10 * len(NUL_IN),
        timeout_s=30,
    )
    dead = [
        r
        for r in await read_all(bootstrap, f"{COMMERCE_PURCHASES}.dlq", expect=10**9, timeout_s=3)
        if r.key == key
    ]
    assert [(r.value, dict(r.headers)["error.code"].decode()) for r in dead] == [
        (value, code) for (_, value), code in zip(messages[::2], NUL_IN.values(), strict=True)
    ]
    assert all(b"NUL" in dict(r.headers)["error.detail"] for r in dead)


async def test_a_time_zone_name_of_a_thousand_parts_is_refused_with_422_not_a_500(
    running_services: dict[str, RunningService],
) -> None:
    """zoneinfo imports a package per "/" of the name it looks up: a long enough name overflowed
    the stack while the request was validated."""
    notifications = running_services["notifications"]
    before = await notifications.fingerprint()

    answer = await notifications.api.put(
        f"/v1/members/{MEMBER}/preferences",
        json={"time_zone": "Asia/Shanghai" * 1000},
        headers=bearer(ADMIN, admin=True),
    )

    assert answer.status_code == 422, answer.text
    assert "time_zone" in answer.json()["detail"]
    assert await notifications.fingerprint() == before
