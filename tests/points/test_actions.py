"""`member.action` earns points (contract 5.3): what the program gives for the action, available
at once and expiring like purchase points, once per `action_id`, within the action's daily cap
(days in the program's time zone) or once per member; an action the program does not name earns
nothing and is no error; a bad action is dead-lettered and the ones behind it still earn."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loyalty_points.actions.handlers import member_action_handler
from loyalty_shared.events.commerce import MemberActionV1
from loyalty_shared.events.decoding import Decoded, decode_event
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS
from loyalty_shared.program.loader import load_program
from loyalty_shared.runtime import runtime_of
from tests.points.conftest import ClockedPoints
from tests.support.events import encode, envelope
from tests.support.kafka import publish_events, read_all
from tests.support.waiting import eventually

SHANGHAI = ZoneInfo("Asia/Shanghai")


def action(
    member: str, name: str, *, action_id: str = "", at: datetime | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "member_id": member,
        "action_id": action_id or f"a-{uuid.uuid4().hex[:12]}",
        "action": name,
    }
    if at is not None:
        data["occurred_at"] = at.isoformat()
    return envelope("member.action", data)


async def took(points: ClockedPoints, *events: dict[str, Any]) -> None:
    """Publish the actions and wait until the service has taken every one of them."""
    ids = [e["data"]["action_id"] for e in events if "action_id" in e["data"]]
    await publish_events(points.broker.bootstrap, COMMERCE_MEMBERS, events)
    pool = runtime_of(points.app).pool
    await eventually(
        lambda: pool.fetchval(
            "SELECT count(DISTINCT action_id) FROM member_action WHERE action_id = ANY($1)", ids
        ),
        lambda n: n == len(set(ids)),
    )


def midnight_in_shanghai(points: ClockedPoints, days_ago: int) -> datetime:
    today = points.clock().astimezone(SHANGHAI).date()
    return datetime.combine(today - timedelta(days=days_ago), time(), SHANGHAI)


async def test_an_action_earns_at_once_and_its_ledger_entry_names_it(
    clocked: ClockedPoints,
) -> None:
    completed = action("m-a1", "profile.completed", action_id="a-profile-m-a1")
    await took(clocked, completed)

    balance = await clocked.balance("m-a1")
    assert (balance["available"], balance["pending"], balance["lifetime_earned"]) == (50, 0, 50)
    [expiring] = balance["expiring"]
    assert expiring["points"] == 50
    [entry] = await clocked.ledger("m-a1")
    assert (entry["type"], entry["points"], entry["details"], entry["cause"]["event_id"]) == (
        "earn",
        50,
        {"action": "profile.completed", "action_id": "a-profile-m-a1"},
        completed["id"],
    )


async def test_the_same_action_earns_once_however_often_it_comes(clocked: ClockedPoints) -> None:
    review = action("m-a2", "review.written", action_id="a-review-1")
    again_same_event = dict(review)
    again_new_event = action("m-a2", "review.written", action_id="a-review-1")
    await took(clocked, review, again_same_event, again_new_event)
    assert (await clocked.balance("m-a2"))["available"] == 20


async def test_profile_completed_earns_once_per_member(clocked: ClockedPoints) -> None:
    await took(clocked, *(action("m-a3", "profile.completed") for _ in range(3)))
    assert (await clocked.balance("m-a3"))["available"] == 50


async def test_daily_caps_count_days_in_the_program_time_zone(clocked: ClockedPoints) -> None:
    midnight = midnight_in_shanghai(clocked, days_ago=2)
    late = [action("m-a4", "review.written", at=midnight - timedelta(minutes=30)) for _ in range(6)]
    early = action("m-a4", "review.written", at=midnight + timedelta(minutes=10))
    checkins = [action("m-a4", "store.checkin", at=midnight + timedelta(hours=h)) for h in (9, 18)]
    await took(clocked, *late, early, *checkins)

    # five reviews on the evening before midnight, one just after it, one check-in that day
    assert (await clocked.balance("m-a4"))["available"] == 5 * 20 + 20 + 5
    capped = await runtime_of(clocked.app).pool.fetchval(
        "SELECT count(*) FROM member_action WHERE member_id = 'm-a4' AND points = 0"
    )
    assert capped == 2, "the sixth review and the second check-in are kept, with no points"


async def test_an_action_the_program_does_not_name_earns_nothing_and_is_no_error(
    clocked: ClockedPoints,
) -> None:
    await publish_events(
        clocked.broker.bootstrap,
        COMMERCE_MEMBERS,
        [action("m-a5", "newsletter.opened"), action("m-a5", "store.checkin", action_id="a-a5")],
    )
    await clocked.credited("m-a5", 5)
    dead = await read_all(
        clocked.broker.bootstrap, f"{COMMERCE_MEMBERS}.dlq", expect=1, timeout_s=2
    )
    assert dead == []


async def test_a_bad_action_is_dead_lettered_and_the_one_behind_it_still_earns(
    clocked: ClockedPoints,
) -> None:
    no_id = action("m-a6", "review.written")
    del no_id["data"]["action_id"]
    ahead = action("m-a6", "review.written", at=clocked.clock() + timedelta(days=2))
    await publish_events(
        clocked.broker.bootstrap,
        COMMERCE_MEMBERS,
        [no_id, ahead, action("m-a6", "review.written")],
    )
    await clocked.credited("m-a6", 20)
    dead = await read_all(clocked.broker.bootstrap, f"{COMMERCE_MEMBERS}.dlq", expect=2)
    reasons = {r.value: dict(r.headers)["error.code"].decode() for r in dead}
    assert reasons == {encode(no_id): "invalid-data", encode(ahead): "invalid-data"}
    assert all(
        b"day ahead" in dict(r.headers)["error.detail"] for r in dead if r.value == encode(ahead)
    )


async def test_concurrent_batches_count_a_daily_cap_once(clocked: ClockedPoints) -> None:
    """Two consumers (a rebalance) taking different reviews of one member on one day at the same
    time: the member's account lock makes one wait, so five earn between them, not ten."""
    handler = member_action_handler(load_program(None), clocked.clock)
    day = midnight_in_shanghai(clocked, days_ago=1) + timedelta(hours=12)

    def batch() -> list[Decoded[MemberActionV1]]:
        events = [action("m-a7", "review.written", at=day) for _ in range(5)]
        decoded = [decode_event(encode(e), {MemberActionV1.TYPE: MemberActionV1}) for e in events]
        return [d for d in decoded if isinstance(d, Decoded)]

    pool = runtime_of(clocked.app).pool

    async def apply(events: list[Decoded[MemberActionV1]]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            assert await handler(conn, events) == []

    await took(clocked, action("m-a7", "store.checkin", at=day))  # the member has an account
    await asyncio.gather(apply(batch()), apply(batch()))
    assert (await clocked.balance("m-a7"))["available"] == 5 + 5 * 20
