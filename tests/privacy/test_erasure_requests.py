"""How the four services take an erasure request (contract 5.4): every request is answered by
every service, once; a malformed one is dead-lettered like any invalid event; and an erased
member goes on earning, and is recorded as unreachable rather than messaged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, COMMERCE_PURCHASES, dlq_topic
from tests.privacy.builders import (
    EMAIL,
    answers,
    erase,
    erasure_request,
    profile,
    shop_publishes,
)
from tests.privacy.conftest import SERVICES, Platform
from tests.support.events import envelope, purchase
from tests.support.kafka import publish_events, read_all
from tests.support.tokens import bearer
from tests.support.waiting import eventually

ADMIN = bearer("ops-1", admin=True)


async def test_a_request_is_answered_once_by_every_service_even_for_a_member_never_seen(
    platform: Platform,
) -> None:
    request = erasure_request("m-never-seen")

    await shop_publishes(platform.bootstrap, request, request)  # delivered twice

    answered = await answers(platform.bootstrap, expect=len(SERVICES) + 1, timeout_s=15)
    assert sorted(a["service"] for a in answered) == sorted(SERVICES)
    assert {(a["member_id"], a["causation_id"]) for a in answered} == {
        ("m-never-seen", request["id"])
    }
    for service in SERVICES:
        register = await platform.fetch(service, "SELECT member_id, request_id FROM member_erasure")
        assert [tuple(r) for r in register] == [("m-never-seen", request["id"])], service


async def test_a_malformed_request_is_dead_lettered_by_every_service_and_erases_nothing(
    platform: Platform,
) -> None:
    await shop_publishes(platform.bootstrap, profile("m-kept"))
    malformed = envelope(
        "member.erasure_requested", {"member_id": "m-kept", "requested_at": "yesterday"}
    )

    await shop_publishes(platform.bootstrap, malformed)

    letters = await read_all(platform.bootstrap, dlq_topic(COMMERCE_MEMBERS), expect=4)
    headers = [dict(r.headers) for r in letters]
    assert sorted(h["error.service"].decode() for h in headers) == sorted(SERVICES)
    assert {h["error.code"] for h in headers} == {b"invalid-data"}
    assert {r.value for r in letters} == {orjson.dumps(malformed)}  # unchanged
    contact = await platform.fetch("notifications", "SELECT email FROM member_contact")
    assert [r["email"] for r in contact] == [EMAIL]
    assert await answers(platform.bootstrap, expect=1, timeout_s=2) == []


async def test_an_erased_member_still_earns_and_is_recorded_as_unreachable_not_messaged(
    platform: Platform,
) -> None:
    member = "m-after"
    await shop_publishes(platform.bootstrap, profile(member))
    assert await erase(platform.bootstrap, member) == set(SERVICES)

    await publish_events(
        platform.bootstrap, COMMERCE_PURCHASES, [purchase(member, "6000.00", days_ago=30)]
    )

    async def balance() -> int:
        response = await platform.api["points"].get(f"/v1/members/{member}/points", headers=ADMIN)
        available: int = response.json()["available"]
        return available

    assert await eventually(balance, lambda points: points > 0) >= 6000
    upgrades = await eventually(
        lambda: platform.fetch(
            "notifications",
            "SELECT status, reason FROM notification WHERE member_id = $1 AND trigger = $2",
            member,
            "tier_upgraded",
        ),
        lambda rows: bool(rows) and all(r["status"] != "scheduled" for r in rows),
    )
    assert {(r["status"], r["reason"].split(":")[0]) for r in upgrades} == {
        ("suppressed", "no-address")
    }


async def test_a_profile_sent_after_the_erasure_stores_what_it_carries_and_nothing_older(
    platform: Platform,
) -> None:
    member = "m-again"
    await shop_publishes(platform.bootstrap, profile(member))
    await erase(platform.bootstrap, member)

    await shop_publishes(
        platform.bootstrap,
        profile(
            member,
            event_type="member.updated",
            name="W.",
            email="w@example.org",
            phone=None,
            birthday=None,
        ),
    )

    (contact,) = await eventually(
        lambda: platform.fetch(
            "notifications",
            "SELECT name, email, phone, birthday, erased_at FROM member_contact",
        ),
        lambda rows: bool(rows) and rows[0]["name"] == "W.",
    )
    assert dict(contact) == {
        "name": "W.",
        "email": "w@example.org",
        "phone": None,
        "birthday": None,
        "erased_at": None,  # reachable again, at the address the shop sent now
    }
    override = await platform.api["tiers"].put(
        f"/v1/members/{member}/tier",
        json={
            "tier": "silver",
            "reason": "review",
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
        headers=ADMIN,
    )
    assert override.status_code == 200, override.text
    sent = await eventually(
        lambda: platform.fetch(
            "notifications",
            "SELECT channel, status FROM notification WHERE member_id = $1",
            member,
        ),
        lambda rows: any(r["status"] == "sent" for r in rows),
    )
    assert ("email", "sent") in {(r["channel"], r["status"]) for r in sent}
