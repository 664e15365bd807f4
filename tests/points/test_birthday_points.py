"""Birthday points (the program's `birthday_points`: bronze 0, silver 100, gold 200, platinum
500): on the member's birthday in the program's time zone (Asia/Shanghai), once a year, for the
member's tier then, as an `earn` entry of their own with a `birthday.rewarded`; 29 February is
celebrated on 28 February in other years. Only the birthday's month and day are kept, and an
erased member's birthday is gone (so are the points)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty_points.lifecycle.jobs import run_due
from loyalty_points.state import PointsState
from loyalty_shared.http.state import state_of
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, LOYALTY_TIERS
from loyalty_shared.runtime import runtime_of
from tests.points.conftest import ClockedPoints
from tests.points.test_referrals import enrolled
from tests.support.events import envelope, tier_changed
from tests.support.kafka import publish_events, read_all
from tests.support.waiting import eventually

#: A `member.updated` carries the whole profile.
PROFILE = {"name": "Member", "consents": {"email": True, "sms": False, "push": False}}
#: Midnight of 15 March 2027 in Shanghai (UTC+8).
BIRTHDAY_STARTS = datetime(2027, 3, 14, 16, 0, tzinfo=UTC)


async def applied(points: ClockedPoints, topic: str, *events: dict[str, Any]) -> None:
    """Publish the events and wait until the service has read every one of them."""
    await publish_events(points.broker.bootstrap, topic, events)
    pool = runtime_of(points.app).pool
    ids = [e["id"] for e in events]
    await eventually(
        lambda: pool.fetchval(
            "SELECT count(*) FROM processed_event WHERE event_id = ANY($1::text[])", ids
        ),
        lambda n: n == len(ids),
    )


async def enrol(points: ClockedPoints, *events: dict[str, Any]) -> None:
    await applied(points, COMMERCE_MEMBERS, *events)


async def with_tier(points: ClockedPoints, member: str, tier: str) -> None:
    await applied(points, LOYALTY_TIERS, tier_changed(member, tier))


async def birthday_entries(points: ClockedPoints, member: str) -> list[dict[str, Any]]:
    return [
        e
        for e in await points.ledger(member)
        if e["type"] == "earn" and e["cause"]["actor"] == "system:birthday"
    ]


async def test_a_gold_member_earns_200_points_on_the_birthday_in_shanghai_not_the_day_before(
    clocked: ClockedPoints,
) -> None:
    await enrol(clocked, enrolled("m-bd1", birthday="1990-03-15"))
    await with_tier(clocked, "m-bd1", "gold")

    clocked.clock.set(BIRTHDAY_STARTS - timedelta(minutes=1))  # 23:59 on 14 March in Shanghai
    assert (await clocked.run_jobs())["pay_birthdays"] == 0
    assert (await clocked.balance("m-bd1"))["available"] == 0, "not the day before"

    clocked.clock.set(BIRTHDAY_STARTS + timedelta(minutes=1))
    assert (await clocked.run_jobs())["pay_birthdays"] == 1

    assert (await clocked.balance("m-bd1"))["available"] == 200
    [bonus] = await birthday_entries(clocked, "m-bd1")
    assert (bonus["points"], bonus["details"]) == (200, {"birthday": 2027, "tier": "gold"})
    told = [e for e in await clocked.events(expect=1) if e["type"] == "birthday.rewarded"]
    assert [(e["data"]["member_id"], e["data"]["year"], e["data"]["points"]) for e in told] == [
        ("m-bd1", 2027, 200)
    ]
    pool = runtime_of(clocked.app).pool
    kept = await pool.fetchrow("SELECT * FROM member_birthday WHERE member_id = 'm-bd1'")
    assert kept is not None
    assert (kept["month"], kept["day"]) == (3, 15), "month and day: no year is kept"


async def test_the_bonus_comes_once_a_year_however_often_the_job_runs(
    clocked: ClockedPoints,
) -> None:
    await enrol(clocked, enrolled("m-bd2", birthday="1985-03-15"))
    await with_tier(clocked, "m-bd2", "silver")

    clocked.clock.set(BIRTHDAY_STARTS + timedelta(hours=1))
    assert (await clocked.run_jobs())["pay_birthdays"] == 1
    clocked.clock.set(BIRTHDAY_STARTS + timedelta(hours=23))  # still the birthday
    assert (await clocked.run_jobs())["pay_birthdays"] == 0
    assert (await clocked.balance("m-bd2"))["available"] == 100

    clocked.clock.set(datetime(2028, 3, 14, 17, 0, tzinfo=UTC))  # 15 March 2028, 01:00
    assert (await clocked.run_jobs())["pay_birthdays"] == 1
    assert [e["points"] for e in await birthday_entries(clocked, "m-bd2")] == [100, 100]


async def test_two_replicas_running_the_job_at_once_pay_each_birthday_once(
    clocked: ClockedPoints,
) -> None:
    members = [f"m-bdr{n}" for n in range(30)]
    await enrol(clocked, *(enrolled(m, birthday="2000-03-15") for m in members))
    await applied(clocked, LOYALTY_TIERS, *(tier_changed(m, "gold") for m in members[:10]))
    clocked.clock.set(BIRTHDAY_STARTS + timedelta(hours=2))
    pool = runtime_of(clocked.app).pool
    program = state_of(clocked.app, PointsState).program

    done = await asyncio.gather(*(run_due(pool, program, clocked.clock()) for _ in range(2)))

    assert sum(d["pay_birthdays"] for d in done) == 30
    lots = await pool.fetch(
        "SELECT member_id, points FROM points_lot WHERE origin = 'birthday' "
        "AND member_id = ANY($1::text[]) ORDER BY member_id",
        members,
    )
    assert sorted((r["member_id"], r["points"]) for r in lots) == sorted(
        (m, 200) for m in members[:10]
    ), "the gold members, once each; bronze members earn nothing"


async def test_a_bronze_member_earns_nothing_and_each_tier_earns_its_own(
    clocked: ClockedPoints,
) -> None:
    tiers = {"m-bdb": None, "m-bds": "silver", "m-bdg": "gold", "m-bdp": "platinum"}
    await enrol(clocked, *(enrolled(m, birthday="1999-03-15") for m in tiers))
    for member, tier in tiers.items():
        if tier:
            await with_tier(clocked, member, tier)

    clocked.clock.set(BIRTHDAY_STARTS + timedelta(hours=3))
    assert (await clocked.run_jobs())["pay_birthdays"] == 4

    earned = {m: [e["points"] for e in await birthday_entries(clocked, m)] for m in tiers}
    assert earned == {"m-bdb": [], "m-bds": [100], "m-bdg": [200], "m-bdp": [500]}
    assert (await clocked.run_jobs())["pay_birthdays"] == 0, "bronze is decided too"


async def test_a_29_february_birthday_is_celebrated_on_28_february_in_other_years(
    clocked: ClockedPoints,
) -> None:
    await enrol(clocked, enrolled("m-bdleap", birthday="1992-02-29"))
    await with_tier(clocked, "m-bdleap", "gold")

    clocked.clock.set(datetime(2027, 2, 27, 17, 0, tzinfo=UTC))  # 28 Feb 2027, 01:00 Shanghai
    assert (await clocked.run_jobs())["pay_birthdays"] == 1
    clocked.clock.set(datetime(2028, 2, 27, 17, 0, tzinfo=UTC))  # 28 Feb 2028: a leap year
    assert (await clocked.run_jobs())["pay_birthdays"] == 0
    clocked.clock.set(datetime(2028, 2, 28, 17, 0, tzinfo=UTC))  # 29 Feb 2028
    assert (await clocked.run_jobs())["pay_birthdays"] == 1
    assert [e["points"] for e in await birthday_entries(clocked, "m-bdleap")] == [200, 200]


async def test_a_birthday_removed_from_the_profile_or_erased_earns_nothing(
    clocked: ClockedPoints,
) -> None:
    await enrol(
        clocked,
        enrolled("m-bde1", birthday="1990-03-15"),
        enrolled("m-bde2", birthday="1990-03-15"),
        enrolled("m-bde3", birthday="1990-01-01"),
    )
    for member in ("m-bde1", "m-bde2", "m-bde3"):
        await with_tier(clocked, member, "gold")
    erasure = envelope(
        "member.erasure_requested",
        {"member_id": "m-bde1", "requested_at": datetime.now(UTC).isoformat()},
    )
    moved = envelope("member.updated", {**PROFILE, "member_id": "m-bde3", "birthday": "1990-03-15"})
    removed = envelope("member.updated", {**PROFILE, "member_id": "m-bde2"})  # no birthday now
    await enrol(clocked, erasure, removed, moved)
    pool = runtime_of(clocked.app).pool
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM member_birthday WHERE member_id IN ('m-bde1', 'm-bde2')"
        )
        == 0
    )

    clocked.clock.set(BIRTHDAY_STARTS + timedelta(hours=1))
    assert (await clocked.run_jobs())["pay_birthdays"] == 1
    assert [len(await birthday_entries(clocked, m)) for m in ("m-bde1", "m-bde2", "m-bde3")] == [
        0,
        0,
        1,
    ]


async def test_a_birthday_that_is_no_date_is_refused_with_its_own_code_and_nothing_kept(
    clocked: ClockedPoints,
) -> None:
    """(Refused by the points service alone: what other services read of it stays theirs.)"""
    bad = enrolled("m-bdbad", referred_by="m-bdx", birthday="1990-02-30")
    await publish_events(clocked.broker.bootstrap, COMMERCE_MEMBERS, [bad])
    await enrol(clocked, enrolled("m-bdbad", referred_by="m-bdx", birthday="1990-02-28"))

    dead = await read_all(
        clocked.broker.bootstrap, f"{COMMERCE_MEMBERS}.dlq", expect=1000, timeout_s=3
    )
    [refused] = [r for r in dead if bad["id"].encode() in (r.value or b"")]
    assert dict(refused.headers)["error.code"] == b"invalid-birthday"
    pool = runtime_of(clocked.app).pool
    kept = await pool.fetch("SELECT month, day FROM member_birthday WHERE member_id = 'm-bdbad'")
    assert [(r["month"], r["day"]) for r in kept] == [(2, 28)], "only the corrected one"
