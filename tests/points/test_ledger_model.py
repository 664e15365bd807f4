"""Random histories of purchases, refunds, duplicates, redemptions, adjustments and expiry, run
through the real service and compared with an independent model of the contract's rules."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_points.lifecycle.jobs import run_due
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.runtime import runtime_of
from tests.points.test_refunds import refund
from tests.support.events import encode, purchase
from tests.support.kafka import publish
from tests.support.tokens import bearer
from tests.support.waiting import eventually

ADMIN = bearer("ops-model", admin=True)
RUN = itertools.count()


@dataclass
class Lot:
    remaining: int
    pending: bool
    age_days: int  # older lots expire first


@dataclass
class Member:
    available: int = 0
    pending: int = 0
    lifetime: int = 0
    lots: list[Lot] = field(default_factory=list)

    def spend(self, points: int) -> None:
        self.available -= points
        for lot in sorted(
            (lot for lot in self.lots if not lot.pending), key=lambda lot: -lot.age_days
        ):
            take = min(points, lot.remaining)
            lot.remaining -= take
            points -= take


@dataclass
class Order:
    order_id: str
    member: str
    total: Decimal
    points: int
    lot: Lot
    refunded: Decimal = Decimal(0)
    reversed: int = 0


def floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


purchases = st.lists(
    st.tuples(
        st.integers(0, 2),  # member
        st.integers(0, 300_000).map(lambda cents: Decimal(cents) / 100),
        st.sampled_from([0, 20, 40]),  # days ago: pending, or past the return window
    ),
    min_size=1,
    max_size=8,
)
refunds = st.lists(st.tuples(st.integers(0, 7), st.sampled_from([0.1, 0.25, 0.5, 1.0])), max_size=5)
spends = st.lists(
    st.tuples(st.sampled_from(["redeem", "adjust"]), st.integers(0, 2), st.integers(-400, 600)),
    max_size=6,
)


async def _processed(pool: Any, count: int) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM processed_event") or 0) - count


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(purchases=purchases, refunds=refunds, spends=spends, late_refunds=refunds)
async def test_every_balance_matches_an_independent_model_and_the_audit_agrees(
    points_app: Any,
    points_api: httpx.AsyncClient,
    broker: Any,
    points_settings: PointsSettings,
    purchases: list[tuple[int, Decimal, int]],
    refunds: list[tuple[int, float]],
    spends: list[tuple[str, int, int]],
    late_refunds: list[tuple[int, float]],
) -> None:
    run = next(RUN)
    names = [f"m-model-{run}-{n}" for n in range(3)]
    members = {name: Member() for name in names}
    orders: list[Order] = []
    pool = runtime_of(points_app).pool
    seen = await _processed(pool, 0)

    async def deliver(events: list[dict[str, Any]], duplicates: int = 0) -> None:
        nonlocal seen
        messages = [(e["subject"].encode(), encode(e)) for e in events]
        await publish(broker.bootstrap, COMMERCE_PURCHASES, messages + messages[:duplicates])
        seen += len(events)
        await eventually(lambda: _processed(pool, 0), lambda n: n >= seen, timeout_s=30)

    def refund_events(chosen: list[tuple[int, float]]) -> list[dict[str, Any]]:
        events = []
        for index, fraction in chosen:
            if not orders:
                break
            order = orders[index % len(orders)]
            left = order.total - order.refunded
            amount = min(left, (order.total * Decimal(str(fraction))).quantize(Decimal("0.01")))
            if amount <= 0:
                continue
            order.refunded += amount
            target = (
                order.points
                if order.refunded >= order.total
                else floor(order.points * order.refunded / order.total)
            )
            reverse, order.reversed = target - order.reversed, target
            member = members[order.member]
            member.lifetime -= reverse
            if order.lot.pending:
                member.pending -= reverse
            else:
                member.available -= reverse
            order.lot.remaining -= min(reverse, order.lot.remaining)
            events.append(
                refund(
                    order.member,
                    order.order_id,
                    f"{amount:.2f}",
                    str(uuid.uuid4()),
                )
            )
        return events

    # 1. purchases (some delivered twice) and refunds, through Kafka
    events = []
    for n, (who, total, days_ago) in enumerate(purchases):
        name = names[who]
        points = floor(total)
        lot = Lot(points, pending=days_ago < 14, age_days=days_ago)
        orders.append(Order(f"o-{run}-{n}", name, total, points, lot))
        member = members[name]
        member.lifetime += points
        if lot.pending:
            member.pending += points
        else:
            member.available += points
        if points:
            member.lots.append(lot)
        events.append(purchase(name, f"{total:.2f}", days_ago=days_ago, order_id=f"o-{run}-{n}"))
    events += refund_events(refunds)
    await deliver(events, duplicates=2)

    # 2. redemptions and adjustments, over HTTP
    for kind, who, points in spends:
        name, member = names[who], members[names[who]]
        if kind == "redeem":
            response = await points_api.post(
                f"/v1/members/{name}/redemptions",
                json={"points": abs(points) or 1},
                headers={**bearer(name), "Idempotency-Key": str(uuid.uuid4())},
            )
            if member.available >= (abs(points) or 1):
                assert response.status_code == 201, response.text
                member.spend(abs(points) or 1)
            else:
                assert response.status_code == 409, response.text
        elif points:
            response = await points_api.post(
                f"/v1/members/{name}/adjustments",
                json={"points": points, "reason": "model check"},
                headers=ADMIN,
            )
            assert response.status_code == 201, response.text
            member.lifetime += points
            if points > 0:
                member.available += points
                member.lots.append(Lot(points, pending=False, age_days=-1))
            else:
                member.spend(-points)

    # 3. refunds after spending, which may take `available` below zero
    await deliver(refund_events(late_refunds))
    await check(points_api, members)

    # 4. a year and more later: everything matured, then everything unspent expired
    await run_due(pool, datetime.now(UTC) + timedelta(days=800))
    for member in members.values():
        member.available += member.pending
        member.pending = 0
        member.available -= sum(lot.remaining for lot in member.lots)
    await check(points_api, members)

    audit = await asyncio.to_thread(
        subprocess.run,
        [
            str(Path(sys.executable).with_name("loyalty")),
            "audit",
            "--database-url",
            points_settings.database_url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout


async def check(api: httpx.AsyncClient, members: dict[str, Member]) -> None:
    for name, expected in members.items():
        body = (await api.get(f"/v1/members/{name}/points", headers=ADMIN)).json()
        assert (body["available"], body["pending"], body["lifetime_earned"]) == (
            expected.available,
            expected.pending,
            expected.lifetime,
        ), name
