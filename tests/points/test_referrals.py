"""Referrals (contract 5.3): a `member.enrolled` naming `referred_by` pays the referrer 500 points
and the new member 200 once the new member's first purchase is available (its return window
over), once per referred member, at most 20 bonuses a referrer in any 365 days; referring oneself
earns nothing, a cycle earns once, a first purchase refunded in full first voids it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loyalty_shared.kafka.topics import COMMERCE_MEMBERS
from loyalty_shared.runtime import runtime_of
from tests.points.conftest import ClockedPoints
from tests.support.events import encode, envelope
from tests.support.kafka import publish_events, read_all
from tests.support.waiting import eventually

WINDOW = timedelta(days=14)  # the default program's return window


def enrolled(member: str, referred_by: str | None = None, **data: Any) -> dict[str, Any]:
    profile = {
        "member_id": member,
        "name": "Member",
        "consents": {"email": True, "sms": False, "push": False},
    }
    if referred_by is not None:
        profile["referred_by"] = referred_by
    return envelope("member.enrolled", {**profile, **data})


async def enrol(points: ClockedPoints, *events: dict[str, Any]) -> None:
    """Publish the enrolments and wait until the service has read the last of them."""
    await publish_events(points.broker.bootstrap, COMMERCE_MEMBERS, events)
    pool = runtime_of(points.app).pool
    last = events[-1]["id"]
    await eventually(
        lambda: pool.fetchval("SELECT count(*) FROM processed_event WHERE event_id = $1", last),
        lambda n: n == 1,
    )


async def status_of(points: ClockedPoints, referee: str) -> str | None:
    status: str | None = await runtime_of(points.app).pool.fetchval(
        "SELECT status FROM referral WHERE referee_id = $1", referee
    )
    return status


async def first_purchase(points: ClockedPoints, member: str, total: str = "100.00") -> str:
    order_id = await points.buy(member, total, at=points.clock())
    await points.credited(member, int(float(total)))
    return order_id


async def test_both_members_earn_once_the_first_purchase_is_past_its_return_window(
    clocked: ClockedPoints,
) -> None:
    await enrol(clocked, enrolled("m-r1"), enrolled("m-r2", referred_by="m-r1"))
    await first_purchase(clocked, "m-r2")

    clocked.clock.advance(WINDOW - timedelta(minutes=1))
    await clocked.run_jobs()
    assert (await clocked.balance("m-r1"))["available"] == 0, "not before the window is over"

    clocked.clock.advance(timedelta(minutes=2))
    done = await clocked.run_jobs()
    assert done["pay_referrals"] == 1
    assert (await clocked.balance("m-r1"))["available"] == 500
    assert (await clocked.balance("m-r2"))["available"] == 100 + 200
    [bonus] = [e for e in await clocked.ledger("m-r1") if e["type"] == "earn"]
    assert (bonus["points"], bonus["cause"]["actor"], bonus["details"]["referral"]) == (
        500,
        "system:referral",
        "m-r2",
    )
    assert (await clocked.run_jobs())["pay_referrals"] == 0, "paid once"
    told = [e for e in await clocked.events(expect=10) if e["type"] == "referral.rewarded"]
    assert sorted(
        (e["data"]["member_id"], e["data"]["role"], e["data"]["points"]) for e in told
    ) == [
        ("m-r1", "referrer", 500),
        ("m-r2", "referee", 200),
    ]


async def test_a_member_is_referred_once_and_referring_oneself_earns_nothing(
    clocked: ClockedPoints,
) -> None:
    await enrol(
        clocked,
        enrolled("m-r3", referred_by="m-r4"),
        enrolled("m-r3", referred_by="m-r5"),  # enrolled again, by someone else: the first wins
        enrolled("m-r6", referred_by="m-r6"),
    )
    for member in ("m-r3", "m-r6"):
        await first_purchase(clocked, member)
    clocked.clock.advance(WINDOW + timedelta(minutes=1))
    await clocked.run_jobs()

    assert [(await clocked.balance(m))["available"] for m in ("m-r4", "m-r5")] == [500, 0]
    assert (await clocked.balance("m-r6"))["available"] == 100
    assert await status_of(clocked, "m-r6") is None


async def test_a_referral_cycle_earns_once(clocked: ClockedPoints) -> None:
    await enrol(clocked, enrolled("m-r7", referred_by="m-r8"), enrolled("m-r8", referred_by="m-r7"))
    for member in ("m-r7", "m-r8"):
        await first_purchase(clocked, member)
    clocked.clock.advance(WINDOW + timedelta(minutes=1))
    await clocked.run_jobs()

    assert (await status_of(clocked, "m-r7"), await status_of(clocked, "m-r8")) == ("paid", "cycle")
    assert (await clocked.balance("m-r8"))["available"] == 100 + 500
    assert (await clocked.balance("m-r7"))["available"] == 100 + 200


async def test_a_first_purchase_refunded_in_full_before_its_window_ends_pays_no_bonus(
    clocked: ClockedPoints,
) -> None:
    await enrol(clocked, enrolled("m-r9", referred_by="m-r10"))
    order_id = await first_purchase(clocked, "m-r9")
    await clocked.refund("m-r9", order_id, "100.00")
    await eventually(lambda: clocked.balance("m-r9"), lambda b: b["pending"] == 0)
    clocked.clock.advance(WINDOW + timedelta(minutes=1))
    await clocked.run_jobs()

    assert await status_of(clocked, "m-r9") == "void"
    assert (await clocked.balance("m-r10"))["available"] == 0
    assert (await clocked.balance("m-r9"))["available"] == 0


async def test_a_referrer_earns_at_most_twenty_bonuses_in_any_365_days(
    clocked: ClockedPoints,
) -> None:
    referees = [f"m-r11-{n:02d}" for n in range(21)]
    await enrol(clocked, *(enrolled(m, referred_by="m-r11") for m in referees))
    for member in referees:
        await clocked.buy(member, "100.00", at=clocked.clock())
    for member in referees:
        await clocked.credited(member, 100)
    clocked.clock.advance(WINDOW + timedelta(minutes=1))
    await clocked.run_jobs()

    assert (await clocked.balance("m-r11"))["available"] == 20 * 500
    assert {(await clocked.balance(m))["available"] for m in referees} == {300}, (
        "every new member still earns theirs"
    )


async def test_a_referred_by_that_is_no_member_id_is_dead_lettered_and_the_next_enrolment_taken(
    clocked: ClockedPoints,
) -> None:
    bad = enrolled("m-r12", referred_by=" m-r1 ")
    await enrol(clocked, bad, enrolled("m-r13", referred_by="m-r12"))
    dead = await read_all(clocked.broker.bootstrap, f"{COMMERCE_MEMBERS}.dlq", expect=1)
    assert [(r.value, dict(r.headers)["error.code"]) for r in dead] == [
        (encode(bad), b"invalid-data")
    ]
    assert await status_of(clocked, "m-r13") == "waiting"
    assert await status_of(clocked, "m-r12") is None
