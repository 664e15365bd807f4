"""The soak's steady load: an endless stream of shop events, and HTTP calls beside it.

Events (one seeded `random.Random` picks types, members and amounts; event ids are fresh):
member enrolments (new members, so the member count grows as a shop's does), profile updates,
purchases (some of members not enrolled yet, a mix of recent ones, pending through the return
window, and backdated ones, available at once) and partial refunds of earlier orders, never
more than is left of them. HTTP: balance, ledger, tier and notification reads, redemptions
with an `Idempotency-Key` (some replayed) and NPS answers, with an admin token.
"""

from __future__ import annotations

import asyncio
import functools
import random
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from loyalty_devkit.demo import Message, random_items, random_profile, shop_event
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, COMMERCE_PURCHASES

#: share of the events of each kind (the rest are purchases)
ENROLMENTS = 0.05
UPDATES = 0.03
REFUNDS = 0.08
#: share of purchases by members who have not enrolled (yet): the platform keeps them
UNENROLLED = 0.03
#: how many recent orders refunds are picked from (keeps the generator's memory flat)
RECENT_ORDERS = 20_000


@dataclass
class _Order:
    order_id: str
    member_id: str
    total: Decimal
    refunded: Decimal = Decimal(0)


class EventStream:
    """Shop events, as many as asked for at a time; bounded memory however long it runs."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.prefix = f"s{seed}"
        self.enrolled: list[str] = []
        self.orders: deque[_Order] = deque(maxlen=RECENT_ORDERS)
        self.counts: Counter[str] = Counter()
        self._members = 0
        self._orders = 0

    def take(self, n: int) -> list[Message]:
        return [self._next() for _ in range(n)]

    def _next(self) -> Message:
        roll = self.rng.random()
        if not self.enrolled or roll < ENROLMENTS:
            return self.enrolment()
        if roll < ENROLMENTS + UPDATES:
            return self._profile("member.updated", self.rng.choice(self.enrolled))
        if roll < ENROLMENTS + UPDATES + REFUNDS and self.orders:
            refund = self._refund()
            if refund is not None:
                return refund
        return self.purchase()

    def enrolment(self) -> Message:
        """A new member's `member.enrolled`."""
        self._members += 1
        member_id = f"m-{self.prefix}-{self._members:06d}"
        self.enrolled.append(member_id)
        return self._profile("member.enrolled", member_id)

    def _profile(self, event_type: str, member_id: str) -> Message:
        profile = random_profile(self.rng, member_id)
        self.counts[event_type] += 1
        return shop_event(COMMERCE_MEMBERS, event_type, member_id, profile, datetime.now(UTC))

    def purchase(self) -> Message:
        rng = self.rng
        if rng.random() < UNENROLLED:
            member_id = f"m-{self.prefix}-guest-{rng.randint(1, 50_000):06d}"
        else:
            member_id = rng.choice(self.enrolled)
        items, total = random_items(rng)
        self._orders += 1
        order = _Order(f"o-{self.prefix}-{self._orders:08d}", member_id, total)
        self.orders.append(order)
        # half within the 14-day return window (pending), half backdated (available at once)
        days = rng.choice([0, 0, 1, 5, 20, 45, 120, 300])
        when = datetime.now(UTC) - timedelta(days=days, minutes=rng.randint(0, 600))
        data = {
            "order_id": order.order_id,
            "member_id": member_id,
            "channel": rng.choice(["online", "store", "app"]),
            "currency": "CNY",
            "total": str(total),
            "items": items,
        }
        self.counts["purchase.completed"] += 1
        return shop_event(COMMERCE_PURCHASES, "purchase.completed", member_id, data, when)

    def _refund(self) -> Message | None:
        order = self.rng.choice(self.orders)
        left = order.total - order.refunded
        if left < Decimal("1.00"):
            return None
        share = Decimal(self.rng.choice([10, 25, 50, 100])) / 100
        amount = max(Decimal("0.01"), (left * share).quantize(Decimal("0.01")))
        amount = min(amount, left)
        order.refunded += amount
        data = {
            "order_id": order.order_id,
            "refund_id": f"r-{order.order_id}-{uuid.UUID(int=self.rng.getrandbits(128)).hex[:8]}",
            "member_id": order.member_id,
            "currency": "CNY",
            "amount": str(amount),
        }
        self.counts["purchase.refunded"] += 1
        now = datetime.now(UTC)
        return shop_event(COMMERCE_PURCHASES, "purchase.refunded", order.member_id, data, now)


class HttpLoad:
    """HTTP calls at a steady rate, at most `concurrency` at once, each as the app makes it: with
    the member's own token (`token_of(member_id)`, kept per member); answers counted by call and
    status (a call that got no answer counts as status 0)."""

    def __init__(
        self,
        urls: dict[str, str],
        token_of: Callable[[str], str],
        events: EventStream,
        seed: int,
        concurrency: int = 16,
    ) -> None:
        self._urls = urls
        self._events = events
        self._rng = random.Random(seed ^ 0x4777)
        self._token_of = functools.cache(token_of)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(15.0, connect=3.0),
            limits=httpx.Limits(
                max_connections=concurrency,
                max_keepalive_connections=concurrency,
                keepalive_expiry=2,  # before uvicorn's 5 s keep-alive closes them
            ),
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._keys: deque[tuple[str, str, int]] = deque(maxlen=200)  # member, key, points
        self._tasks: set[asyncio.Task[None]] = set()
        self.answers: Counter[tuple[str, int]] = Counter()
        self.skipped = 0  # calls not started: every slot was busy

    async def close(self) -> None:
        if self._client.is_closed:
            return
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()

    def fire(self, n: int) -> None:
        for _ in range(n):
            if self._slots.locked():
                self.skipped += 1
                continue
            task = asyncio.create_task(self._one())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _one(self) -> None:
        if not self._events.enrolled:
            return
        rng = self._rng
        member = rng.choice(self._events.enrolled)
        roll = rng.random()
        async with self._slots:
            if roll < 0.35:
                await self._call("points balance", "points", "GET", f"/v1/members/{member}/points")
            elif roll < 0.45:
                await self._call(
                    "points ledger",
                    "points",
                    "GET",
                    f"/v1/members/{member}/points/transactions",
                )
            elif roll < 0.65:
                await self._call("tier", "tiers", "GET", f"/v1/members/{member}/tier")
            elif roll < 0.75:
                await self._call(
                    "notifications", "notifications", "GET", f"/v1/members/{member}/notifications"
                )
            elif roll < 0.95:
                await self._redeem(member)
            else:
                score = rng.randint(0, 10)
                await self._call(
                    "nps answer",
                    "feedback",
                    "POST",
                    f"/v1/members/{member}/feedback",
                    json={"score": score, "comment": "soak"},
                )

    async def _redeem(self, member: str) -> None:
        if self._keys and self._rng.random() < 0.1:
            member, key, points = self._rng.choice(self._keys)  # the same request again
        else:
            key, points = str(uuid.uuid4()), self._rng.choice([10, 20, 50, 100])
            self._keys.append((member, key, points))
        await self._call(
            "redemption",
            "points",
            "POST",
            f"/v1/members/{member}/redemptions",
            json={"points": points, "reward": "soak"},
            headers={"Idempotency-Key": key},
        )

    async def _call(
        self,
        what: str,
        service: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        member = path.split("/")[3]  # /v1/members/{member_id}/...
        headers = {**(headers or {}), "Authorization": f"Bearer {self._token_of(member)}"}
        try:
            response = await self._client.request(
                method, self._urls[service] + path, json=json, headers=headers
            )
            self.answers[(what, response.status_code)] += 1
        except httpx.HTTPError:
            self.answers[(what, 0)] += 1
