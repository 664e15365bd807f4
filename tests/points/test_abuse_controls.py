"""Abuse controls (the program's `[abuse]` thresholds, all off by default): a member who goes over
one is flagged once per threshold and window, with one `member.flagged`; daily thresholds count
days in the program's time zone. While flagged, what the member earns stays pending (held, never
dropped) until support or an admin releases it (then spendable) or voids it (`review_void`
entries), once per Idempotency-Key, in the audit log."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.actions.handlers import member_action_handler
from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_points.state import PointsState
from loyalty_shared.events.commerce import MemberActionV1
from loyalty_shared.events.decoding import Decoded, decode_event
from loyalty_shared.http.state import state_of
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_POINTS
from loyalty_shared.program.loader import default_program_path
from loyalty_shared.runtime import runtime_of
from tests.points.conftest import ClockedPoints
from tests.points.test_actions import action, took
from tests.support.apps import client_of, on_test_broker, running
from tests.support.clock import ManualClock
from tests.support.events import encode, envelope, purchase_data
from tests.support.kafka import publish_events, read_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUPPORT = bearer("agent-7", scopes=("loyalty:support",))
MARKETING = bearer("analyst-1", scopes=("loyalty:marketing",))
ADMIN = bearer("ops-1", admin=True)

Start = Callable[[str], AbstractAsyncContextManager[ClockedPoints]]


@pytest.fixture
def points_with(new_database: Callable[[str], str], broker: LocalBroker, tmp_path: Path) -> Start:
    """The points service under the default program with this `[abuse]` section, on a clock the
    test moves (its scheduled jobs left to the test)."""

    @asynccontextmanager
    async def start(abuse: str) -> AsyncIterator[ClockedPoints]:
        program = tmp_path / f"program-{uuid.uuid4().hex[:8]}.toml"
        text = default_program_path().read_text(encoding="utf-8")
        program.write_text(f"{text}\n[abuse]\n{abuse}\n", encoding="utf-8")
        settings = PointsSettings(
            points_database_url=new_database("points"),
            program_file=program,
            points_jobs_interval_s=3600,
            **on_test_broker(broker),
        )
        clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
        app = create_app(settings, clock=clock)
        async with running(app), client_of(app) as api:
            yield ClockedPoints(app, api, clock, broker)

    return start


# ---- acting as the shop, the app and support ----------------------------------------------


def bought(member: str, total: str, *, at: datetime, order_id: str = "") -> dict[str, Any]:
    order_id = order_id or f"o-{uuid.uuid4().hex[:10]}"
    return envelope(
        "purchase.completed", purchase_data(member, order_id=order_id, total=total), time=at
    )


def refunded(member: str, order_id: str, amount: str, *, at: datetime) -> dict[str, Any]:
    return envelope(
        "purchase.refunded",
        {
            "order_id": order_id,
            "refund_id": f"r-{uuid.uuid4().hex[:10]}",
            "member_id": member,
            "currency": "CNY",
            "amount": amount,
        },
        time=at,
    )


async def shop(points: ClockedPoints, *events: dict[str, Any]) -> None:
    """Publish purchases and refunds and wait until the service has applied every one."""
    await publish_events(points.broker.bootstrap, COMMERCE_PURCHASES, events)
    pool = runtime_of(points.app).pool
    ids = list({e["id"] for e in events})
    await eventually(
        lambda: pool.fetchval("SELECT count(*) FROM processed_event WHERE event_id = ANY($1)", ids),
        lambda n: n == len(ids),
    )


async def flags(points: ClockedPoints, member: str) -> list[dict[str, Any]]:
    rows = await runtime_of(points.app).pool.fetch(
        """
        SELECT reason, threshold::text, observed::text, local_day, cause_event_id, status
        FROM member_flag WHERE member_id = $1 ORDER BY id
        """,
        member,
    )
    return [dict(row) for row in rows]


async def flagged_events(points: ClockedPoints) -> list[dict[str, Any]]:
    """Every member.flagged published, once the outbox has published all it holds (read from the
    start of the topic until one is there, and for a moment more)."""
    pool = runtime_of(points.app).pool
    await eventually(lambda: pool.fetchval("SELECT count(*) FROM outbox"), lambda n: n == 0)

    async def published() -> list[dict[str, Any]]:
        events = await read_events(
            points.broker.bootstrap, LOYALTY_POINTS, expect=10**6, timeout_s=2
        )
        return [e for e in events if e["type"] == "member.flagged"]

    return await eventually(published, bool, timeout_s=30)


async def review(
    points: ClockedPoints,
    member: str,
    decision: str,
    *,
    key: str = "",
    headers: dict[str, str] = SUPPORT,
    reason: str = "checked the orders with the shop",
) -> httpx.Response:
    return await points.api.post(
        f"/v1/members/{member}/review",
        json={"decision": decision, "reason": reason},
        headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())},
    )


async def audit(points: ClockedPoints, member: str) -> list[tuple[str, str, str]]:
    rows = await runtime_of(points.app).pool.fetch(
        "SELECT actor, scope, action FROM audit_log WHERE member_id = $1 ORDER BY id", member
    )
    return [(r["actor"], r["scope"], r["action"]) for r in rows]


def midnight_in_shanghai(points: ClockedPoints, days_ago: int) -> datetime:
    today = points.clock().astimezone(SHANGHAI).date()
    return datetime.combine(today - timedelta(days=days_ago), time(), SHANGHAI)


async def flagged_by_a_refund(points: ClockedPoints, member: str) -> None:
    """The member (under `refunds_per_30_days = 0`) holds 200 available points, then refunds an
    order: flagged."""
    long_ago = points.clock() - timedelta(days=20)  # past the return window: available at once
    order = bought(member, "100.00", at=long_ago)
    await shop(points, bought(member, "200.00", at=long_ago), order)
    await shop(points, refunded(member, order["data"]["order_id"], "100.00", at=points.clock()))
    assert [f["reason"] for f in await flags(points, member)] == ["refunds"]


# ---- each threshold flags once -------------------------------------------------------------


async def test_more_refunds_in_30_days_than_the_program_allows_flag_the_member_once(
    points_with: Start,
) -> None:
    async with points_with("refunds_per_30_days = 2") as points:
        now = points.clock()
        orders = [bought("m-ab1", "100.00", at=now - timedelta(days=1)) for _ in range(4)]
        await shop(points, *orders)
        refunds = [refunded("m-ab1", o["data"]["order_id"], "50.00", at=now) for o in orders]
        await shop(points, *refunds)

        [flag] = await flags(points, "m-ab1")
        assert (flag["reason"], flag["threshold"], flag["observed"], flag["local_day"]) == (
            "refunds",
            "2",
            "3",
            None,
        )
        assert flag["cause_event_id"] == refunds[2]["id"], "the third refund went over"
        [event] = await flagged_events(points)
        assert (event["subject"], event["data"]["reason"], event["data"]["observed"]) == (
            "m-ab1",
            "refunds",
            "3",
        )
        assert event["data"]["causation_id"] == refunds[2]["id"]


async def test_a_refund_ratio_over_the_programs_flags_only_with_enough_purchases(
    points_with: Start,
) -> None:
    async with points_with('refund_ratio = "0.5"\nrefund_ratio_min_purchases = 3') as points:
        now = points.clock()
        first, second = (bought("m-ab2", "100.00", at=now - timedelta(days=2)) for _ in range(2))
        await shop(points, first, second)
        # all of one of two purchases refunded: 1.0, but too few purchases for the ratio
        await shop(points, refunded("m-ab2", first["data"]["order_id"], "100.00", at=now))
        await shop(points, bought("m-ab2", "100.00", at=now - timedelta(days=1)))
        assert await flags(points, "m-ab2") == []

        over = refunded("m-ab2", second["data"]["order_id"], "60.00", at=now)  # 160 of 300
        await shop(points, over, refunded("m-ab2", second["data"]["order_id"], "10.00", at=now))

        [flag] = await flags(points, "m-ab2")
        assert (flag["reason"], flag["threshold"], flag["observed"], flag["cause_event_id"]) == (
            "refund_ratio",
            "0.5",
            "0.5334",
            over["id"],
        )
        assert len(await flagged_events(points)) == 1


async def test_points_over_the_daily_limit_flag_the_member_and_days_end_at_midnight_in_shanghai(
    points_with: Start,
) -> None:
    async with points_with("points_per_day = 1000") as points:
        midnight = midnight_in_shanghai(points, days_ago=1)
        before = bought("m-ab3", "600.00", at=midnight - timedelta(minutes=30))
        after = bought("m-ab3", "600.00", at=midnight + timedelta(minutes=10))
        await shop(points, before, after)
        assert await flags(points, "m-ab3") == [], "600 on each of two days"

        over = bought("m-ab3", "500.00", at=midnight + timedelta(minutes=20))
        await shop(points, over, bought("m-ab3", "10.00", at=midnight + timedelta(minutes=30)))

        [flag] = await flags(points, "m-ab3")
        assert (flag["reason"], flag["threshold"], flag["observed"]) == (
            "points_per_day",
            "1000",
            "1100",
        )
        assert (flag["local_day"], flag["cause_event_id"]) == (midnight.date(), over["id"])
        [event] = await flagged_events(points)
        assert event["data"]["local_day"] == midnight.date().isoformat()


async def test_actions_over_the_daily_limit_flag_the_member_once_a_day_in_shanghai(
    points_with: Start,
) -> None:
    async with points_with("actions_per_day = 3") as points:
        midnight = midnight_in_shanghai(points, days_ago=1)
        evening = [
            action("m-ab4", "review.written", at=midnight - timedelta(minutes=30 - i))
            for i in range(3)
        ]
        morning = [
            action("m-ab4", "review.written", at=midnight + timedelta(minutes=10 + i))
            for i in range(5)
        ]
        await took(points, *evening, morning[0])
        assert await flags(points, "m-ab4") == [], "three the day before midnight, one after"

        await took(points, *morning[1:])
        [flag] = await flags(points, "m-ab4")
        assert (flag["reason"], flag["observed"], flag["local_day"]) == (
            "actions_per_day",
            "4",
            midnight.date(),
        )
        assert flag["cause_event_id"] == morning[3]["id"], "the fourth of the day went over"
        assert len(await flagged_events(points)) == 1


async def test_the_crossing_event_delivered_twice_flags_once(points_with: Start) -> None:
    async with points_with("refunds_per_30_days = 0") as points:
        order = bought("m-ab5", "100.00", at=points.clock() - timedelta(days=1))
        await shop(points, order)
        crossing = refunded("m-ab5", order["data"]["order_id"], "10.00", at=points.clock())
        await shop(points, crossing, crossing)
        await shop(points, crossing)

        assert len(await flags(points, "m-ab5")) == 1
        assert len(await flagged_events(points)) == 1


async def test_concurrent_batches_of_one_members_actions_flag_once(points_with: Start) -> None:
    """Two consumers (a rebalance) taking a member's actions of one day at once: the member's
    account lock makes one wait, so the day is counted once and flagged once."""
    async with points_with("actions_per_day = 3") as points:
        program = state_of(points.app, PointsState).program
        handler = member_action_handler(program, points.clock)
        day = midnight_in_shanghai(points, days_ago=1) + timedelta(hours=12)
        await took(points, action("m-ab12", "store.checkin", at=day))  # an account to lock

        def batch() -> list[Decoded[MemberActionV1]]:
            events = [action("m-ab12", "review.written", at=day) for _ in range(3)]
            decoded = [
                decode_event(encode(e), {MemberActionV1.TYPE: MemberActionV1}) for e in events
            ]
            return [d for d in decoded if isinstance(d, Decoded)]

        pool = runtime_of(points.app).pool

        async def apply(events: list[Decoded[MemberActionV1]]) -> None:
            async with pool.acquire() as conn, conn.transaction():
                assert await handler(conn, events) == []

        await asyncio.gather(apply(batch()), apply(batch()))
        [flag] = await flags(points, "m-ab12")
        assert (flag["reason"], flag["observed"]) == ("actions_per_day", "4")


# ---- held, released, voided ----------------------------------------------------------------


async def test_a_flagged_members_new_points_stay_pending_until_a_release_makes_them_spendable(
    points_with: Start,
) -> None:
    async with points_with("refunds_per_30_days = 0") as points:
        await flagged_by_a_refund(points, "m-ab6")
        # what they earn from now on: an action (available at once otherwise) and a purchase
        # past its return window (available at once otherwise)
        await took(points, action("m-ab6", "profile.completed"))
        await shop(points, bought("m-ab6", "300.00", at=points.clock() - timedelta(days=20)))

        balance = await points.balance("m-ab6")
        assert (balance["available"], balance["pending"], balance["lifetime_earned"]) == (
            200,
            350,
            550,
        )
        assert (await points.redeem("m-ab6", 201)).status_code == 409
        shown = await points.api.get("/v1/members/m-ab6/review", headers=SUPPORT)
        assert shown.status_code == 200, shown.text
        assert (shown.json()["flagged"], shown.json()["held_points"]) == (True, 350)
        assert sorted(lot["points"] for lot in shown.json()["held_lots"]) == [50, 300]

        released = await review(points, "m-ab6", "release")
        assert released.status_code == 200, released.text
        assert (released.json()["decision"], released.json()["points"]) == ("release", 350)

        balance = await points.balance("m-ab6")
        assert (balance["available"], balance["pending"]) == (550, 0)
        assert (await points.redeem("m-ab6", 550)).status_code == 201
        after = (await points.api.get("/v1/members/m-ab6/review", headers=SUPPORT)).json()
        assert (after["flagged"], after["held_points"], after["flags"][0]["status"]) == (
            False,
            0,
            "released",
        )
        # no longer flagged: what they earn next is available at once again
        await took(points, action("m-ab6", "store.checkin"))
        assert (await points.balance("m-ab6"))["available"] == 5


async def test_a_released_purchase_still_in_its_return_window_matures_when_the_window_ends(
    points_with: Start,
) -> None:
    async with points_with("refunds_per_30_days = 0") as points:
        await flagged_by_a_refund(points, "m-ab7")
        await shop(points, bought("m-ab7", "300.00", at=points.clock() - timedelta(days=4)))
        assert (await review(points, "m-ab7", "release")).status_code == 200
        assert (await points.balance("m-ab7"))["pending"] == 300

        points.clock.advance(timedelta(days=10, seconds=1))
        balance = await points.balance("m-ab7")
        assert (balance["available"], balance["pending"]) == (500, 0)


async def test_voiding_reverses_the_held_points_with_review_void_entries_and_nothing_else(
    points_with: Start,
) -> None:
    async with points_with("refunds_per_30_days = 0") as points:
        await flagged_by_a_refund(points, "m-ab8")
        await took(points, action("m-ab8", "profile.completed"))
        held = bought("m-ab8", "300.00", at=points.clock() - timedelta(days=20))
        await shop(points, held)

        voided = await review(points, "m-ab8", "void", headers=ADMIN)
        assert voided.status_code == 200, voided.text
        assert (voided.json()["decision"], voided.json()["points"]) == ("void", 350)

        balance = await points.balance("m-ab8")
        assert (balance["available"], balance["pending"], balance["lifetime_earned"]) == (
            200,
            0,
            200,
        )
        entries = [e for e in await points.ledger("m-ab8") if e["type"] == "review_void"]
        assert sorted(e["points"] for e in entries) == [-300, -50]
        assert {e["cause"]["actor"] for e in entries} == {"admin:ops-1"}
        assert {e["details"]["review_id"] for e in entries} == {voided.json()["id"]}
        # a refund of the voided purchase takes nothing more: its points are gone already
        await shop(points, refunded("m-ab8", held["data"]["order_id"], "300.00", at=points.clock()))
        balance = await points.balance("m-ab8")
        assert (balance["available"], balance["pending"], balance["lifetime_earned"]) == (
            200,
            0,
            200,
        )


# ---- the review endpoint -------------------------------------------------------------------


async def test_support_or_admin_review_once_per_key_in_the_audit_log_and_marketing_may_not(
    points_with: Start,
) -> None:
    async with points_with("refunds_per_30_days = 0") as points:
        await flagged_by_a_refund(points, "m-ab9")
        assert (await review(points, "m-ab9", "release", headers=MARKETING)).status_code == 403
        assert (
            await review(points, "m-ab9", "release", headers=bearer("m-ab9"))
        ).status_code == 403
        missing_key = await points.api.post(
            "/v1/members/m-ab9/review",
            json={"decision": "release", "reason": "fine"},
            headers=SUPPORT,
        )
        assert missing_key.status_code == 400

        listed = await points.api.get("/v1/reviews", params={"status": "open"}, headers=SUPPORT)
        assert listed.status_code == 200, listed.text
        assert [i["member_id"] for i in listed.json()["items"]] == ["m-ab9"]
        assert (await points.api.get("/v1/reviews", headers=MARKETING)).status_code == 403

        first = await review(points, "m-ab9", "release", key="k-1")
        again = await review(points, "m-ab9", "release", key="k-1")
        assert (first.status_code, again.status_code) == (200, 200)
        assert again.json() == first.json()
        assert (await review(points, "m-ab9", "void", key="k-1")).status_code == 422
        not_flagged = await review(points, "m-ab9", "void", key="k-2")
        assert not_flagged.status_code == 409
        assert not_flagged.json()["type"].endswith("not-flagged")

        assert [a for a in await audit(points, "m-ab9") if a[2] != "member.read"] == [
            ("agent-7", "loyalty:support", "points.review_release")
        ]
        assert ("agent-7", "loyalty:support", "member.read") in await audit(points, "m-ab9")
        open_now = await points.api.get("/v1/reviews", headers=SUPPORT)
        assert open_now.json()["items"] == []
        released = await points.api.get(
            "/v1/reviews", params={"status": "released"}, headers=SUPPORT
        )
        assert [i["review_id"] for i in released.json()["items"]] == [first.json()["id"]]


# ---- unflagged members ---------------------------------------------------------------------


async def test_members_under_every_threshold_earn_and_mature_as_ever(points_with: Start) -> None:
    abuse = 'refunds_per_30_days = 2\nrefund_ratio = "0.5"\npoints_per_day = 1000\n'
    async with points_with(abuse + "actions_per_day = 3") as points:
        order = bought("m-ab10", "400.00", at=points.clock() - timedelta(days=20))
        await shop(points, order, bought("m-ab10", "100.00", at=points.clock()))
        await shop(
            points, refunded("m-ab10", order["data"]["order_id"], "40.00", at=points.clock())
        )
        await took(points, action("m-ab10", "store.checkin"))

        assert await flags(points, "m-ab10") == []
        balance = await points.balance("m-ab10")
        assert (balance["available"], balance["pending"]) == (360 + 5, 100)
        no_flag = await points.api.get("/v1/members/m-ab10/review", headers=SUPPORT)
        assert (no_flag.json()["flagged"], no_flag.json()["flags"]) == (False, [])


async def test_the_default_program_flags_nobody(clocked: ClockedPoints) -> None:
    now = clocked.clock()
    orders = [bought("m-ab11", "100.00", at=now - timedelta(days=1)) for _ in range(5)]
    await shop(clocked, *orders)
    await shop(
        clocked, *(refunded("m-ab11", o["data"]["order_id"], "100.00", at=now) for o in orders)
    )
    await took(clocked, *(action("m-ab11", "review.written") for _ in range(8)))

    assert await flags(clocked, "m-ab11") == []
    assert (await clocked.balance("m-ab11"))["available"] == 5 * 20
