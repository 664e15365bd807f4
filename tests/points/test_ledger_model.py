"""Random histories of purchases (some delivered twice), refunds, redemptions, checkout holds,
adjustments, scheduled jobs and steps of the clock, run through the real service. At every step
the balance it answers equals the independent model's (ledger_model.py) at that instant, agrees
with its own ledger, with its `expiring` list and with its business-time view (`as_of` now); at
the end `loyalty audit` finds nothing."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.runtime import runtime_of
from tests.points.conftest import ClockedPoints
from tests.points.ledger_model import Account, Spend
from tests.support.events import encode, envelope, purchase_data
from tests.support.kafka import publish
from tests.support.tokens import bearer
from tests.support.waiting import eventually

RUN = itertools.count()
ADMIN = bearer("ops-model", admin=True)
MS = timedelta(milliseconds=1)
WAITS: dict[str, timedelta] = {
    "a millisecond": MS,
    "an hour": timedelta(hours=1),
    "three days": timedelta(days=3),
    "fifteen days": timedelta(days=15),
    "200 days": timedelta(days=200),
}

Step = tuple[Any, ...]
steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("buy"),
            st.sampled_from([0, 5, 13, 20, 200, 364, 366, 400]),  # days ago
            st.integers(0, 3000).map(lambda tenths: Decimal(tenths) / 10),
            st.booleans(),  # delivered twice
        ),
        st.tuples(st.just("refund"), st.integers(0, 20), st.sampled_from(["0.1", "0.5", "1"])),
        st.tuples(st.just("redeem"), st.integers(1, 400)),
        st.tuples(st.just("hold"), st.integers(1, 400), st.sampled_from([60, 3600])),
        st.tuples(st.sampled_from(["release", "commit", "cancel"]), st.integers(0, 9)),
        st.tuples(st.just("adjust"), st.integers(-300, 300).filter(bool)),
        st.tuples(
            st.just("wait"),
            st.sampled_from([*WAITS, "until just before the next", "until just after the next"]),
        ),
        st.tuples(st.just("jobs")),
    ),
    min_size=1,
    max_size=14,
)


class History:
    """One member's history played against the service and the model side by side."""

    def __init__(self, service: ClockedPoints, member: str) -> None:
        self.service = service
        self.member = member
        self.model = Account()
        self.orders: list[str] = []
        self.holds: list[tuple[str, Spend]] = []
        self.redemptions: list[tuple[str, Spend]] = []
        self.delivered = 0  # events the service has taken by now, set by `start`

    async def start(self) -> None:
        self.delivered = await self._processed()

    async def _processed(self) -> int:
        count: int = await runtime_of(self.service.app).pool.fetchval(
            "SELECT count(*) FROM processed_event"
        )
        return count

    async def _taken(self) -> None:
        self.delivered += 1
        await eventually(self._processed, lambda n: n >= self.delivered, timeout_s=30)

    @property
    def now(self) -> datetime:
        return self.service.clock()

    async def _deliver(self, event: dict[str, Any], twice: bool = False) -> None:
        message = (self.member.encode(), encode(event))
        await publish(self.service.broker.bootstrap, COMMERCE_PURCHASES, [message] * (1 + twice))
        await self._taken()

    async def play(self, step: Step) -> None:
        name, *args = step
        member, service, model, now = self.member, self.service, self.model, self.now
        if name == "buy":
            days_ago, total, twice = args
            order_id = f"{member}-o{len(self.orders)}"
            at = now - timedelta(days=days_ago)
            data = purchase_data(member, order_id=order_id, total=f"{total:.2f}")
            await self._deliver(envelope("purchase.completed", data, time=at), twice)
            self.orders.append(order_id)
            model.buy(order_id, total, at, now)
        elif name == "refund" and self.orders:
            order_id = self.orders[args[0] % len(self.orders)]
            order = model.orders[order_id]
            amount = min(order.total - order.refunded, order.total * Decimal(args[1]))
            amount = amount.quantize(Decimal("0.01"))
            if amount > 0:
                await service.refund(member, order_id, f"{amount:.2f}")
                await self._taken()
                model.refund(order_id, amount, now)
        elif name == "redeem":
            response = await service.redeem(member, args[0])
            expected = model.redeem(args[0], now)
            assert response.status_code == (201 if expected else 409), response.text
            if expected:
                self.redemptions.append((response.json()["id"], model.redemptions[-1]))
        elif name == "hold":
            response = await service.hold(member, args[0], ttl_seconds=args[1])
            expected = model.hold(args[0], timedelta(seconds=args[1]), now)
            assert response.status_code == (201 if expected else 409), response.text
            if expected:
                self.holds.append((response.json()["id"], model.holds[-1]))
        elif name in ("release", "commit") and self.holds:
            hold_id, hold = self.holds[args[0] % len(self.holds)]
            path = f"/v1/members/{member}/holds/{hold_id}/{name}"
            response = await service.api.post(path, headers=bearer(member))
            if name == "release":
                expected = model.release(hold, now)
            else:
                expected = model.commit(hold, now)
                if expected and response.status_code == 200:
                    redemption_id = response.json()["redemption_id"]
                    if redemption_id not in {r for r, _ in self.redemptions}:
                        self.redemptions.append((redemption_id, model.redemptions[-1]))
            assert response.status_code == (200 if expected else 409), response.text
        elif name == "cancel" and self.redemptions:
            redemption_id, redemption = self.redemptions[args[0] % len(self.redemptions)]
            path = f"/v1/members/{member}/redemptions/{redemption_id}/cancellation"
            response = await service.api.post(path, headers=ADMIN)
            assert response.status_code == 200, response.text
            model.cancel(redemption, now)
        elif name == "adjust":
            assert (await service.adjust(member, args[0])).status_code == 201
            model.adjust(args[0], now)
        elif name == "wait":
            service.clock.set(self._later(args[0]))
        elif name == "jobs":
            await service.run_jobs()

    def _later(self, wait: str) -> datetime:
        if wait in WAITS:
            return self.now + WAITS[wait]
        upcoming = self.model.next_moments(self.now)
        if not upcoming:
            return self.now + timedelta(days=1)
        return upcoming[0] + (MS if wait.endswith("after the next") else -MS)

    async def check(self, step: Step) -> None:
        body = await self.service.balance(self.member)
        expected = self.model.read(self.now)
        seen = {k: body[k] for k in ("available", "pending", "held", "lifetime_earned")}
        assert seen == {k: expected[k] for k in seen}, (step, body, expected)
        expiring = [
            (datetime.fromisoformat(e["expires_at"]), e["points"]) for e in body["expiring"]
        ]
        assert expiring == expected["expiring"], (step, body)
        assert sum(points for _, points in expiring) == max(body["available"], 0)
        ledger = await runtime_of(self.service.app).pool.fetchrow(
            """
            SELECT coalesce(sum(available_delta), 0) AS available,
                   coalesce(sum(pending_delta), 0) AS pending,
                   coalesce(sum(held_delta), 0) AS held
            FROM ledger_entry WHERE member_id = $1
            """,
            self.member,
        )
        assert ledger is not None
        assert dict(ledger) == {k: body[k] for k in ("available", "pending", "held")}, step
        then = await self.service.balance(self.member, as_of=self.now.isoformat())
        assert {k: then[k] for k in seen} == seen, ("as_of now", step)
        assert then["expiring"] == body["expiring"], ("as_of now", step)


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=steps)
async def test_every_balance_at_every_instant_matches_an_independent_model(
    clocked: ClockedPoints, history: list[Step]
) -> None:
    played = History(clocked, f"m-model-{next(RUN)}")
    await played.start()
    for step in history:
        await played.play(step)
        await played.check(step)

    audit = await asyncio.to_thread(
        subprocess.run,
        [
            str(Path(sys.executable).with_name("loyalty")),
            "audit",
            "--database-url",
            runtime_of(clocked.app).settings.database_url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout
