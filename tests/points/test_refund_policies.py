"""The program's refund policy decides what a refund takes back once points have matured and
been spent: `proportional` (the contract's default), `pending_only` or `within_balance`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.program.loader import default_program_path
from tests.points.test_crediting_purchases import balance_of
from tests.points.test_refunds import refund
from tests.support.apps import serving
from tests.support.events import purchase
from tests.support.kafka import publish_events
from tests.support.tokens import SECRET, bearer
from tests.support.waiting import eventually

Serve = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def points_with_policy(
    new_database: Callable[[str], str], broker: LocalBroker, tmp_path: Path
) -> Serve:
    def serve(policy: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        text = default_program_path().read_text(encoding="utf-8")
        program = tmp_path / f"{policy}.toml"
        program.write_text(
            text.replace('refund_policy = "proportional"', f'refund_policy = "{policy}"'),
            encoding="utf-8",
        )
        settings = PointsSettings(
            points_database_url=new_database("points"),
            kafka_bootstrap=broker.bootstrap,
            jwt_secret=SECRET,
            program_file=program,
        )
        return serving(create_app(settings))

    return serve


async def spent_800_of_1000_then_refunded_half(
    api: httpx.AsyncClient, broker: LocalBroker, member: str
) -> None:
    """1,000 points matured, 800 spent, then half the order refunded."""
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [purchase(member, "1000.00", days_ago=20, order_id=f"o-{member}")],
    )
    await eventually(lambda: balance_of(api, member), lambda b: b["available"] == 1000)
    spent = await api.post(
        f"/v1/members/{member}/redemptions",
        json={"points": 800},
        headers={**bearer(member), "Idempotency-Key": f"k-{member}"},
    )
    assert spent.status_code == 201, spent.text
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [refund(member, f"o-{member}", "500.00", f"r-{member}-1")],
    )


async def settled(api: httpx.AsyncClient, member: str, lifetime: int) -> dict[str, Any]:
    return await eventually(
        lambda: balance_of(api, member), lambda b: b["lifetime_earned"] == lifetime
    )


async def test_proportional_takes_the_refunded_share_even_below_zero(
    points_with_policy: Serve, broker: LocalBroker
) -> None:
    async with points_with_policy("proportional") as api:
        await spent_800_of_1000_then_refunded_half(api, broker, "m-prop")

        body = await settled(api, "m-prop", lifetime=500)

    assert body["available"] == -300


async def test_pending_only_leaves_matured_points_alone(
    points_with_policy: Serve, broker: LocalBroker
) -> None:
    async with points_with_policy("pending_only") as api:
        await spent_800_of_1000_then_refunded_half(api, broker, "m-pend")
        await publish_events(
            broker.bootstrap,
            COMMERCE_PURCHASES,
            [
                purchase("m-pend", "300.00", order_id="o-still-pending"),
                refund("m-pend", "o-still-pending", "300.00", "r-still-pending"),
            ],
        )

        # the pending order's points are reversed; the matured order's are forgiven
        transactions = await eventually(
            lambda: api.get("/v1/members/m-pend/points/transactions", headers=bearer("m-pend")),
            lambda r: len(r.json()["items"]) == 5,
        )
        body = await balance_of(api, "m-pend")

    assert [entry["type"] for entry in transactions.json()["items"]] == [
        "reverse",
        "earn",
        "redeem",
        "mature",  # the first order's window had ended by the time it was credited
        "earn",
    ]
    assert body["available"] == 200
    assert body["lifetime_earned"] == 1000
    assert body["pending"] == 0


async def test_within_balance_never_takes_available_below_zero_and_forgives_the_rest(
    points_with_policy: Serve, broker: LocalBroker
) -> None:
    async with points_with_policy("within_balance") as api:
        await spent_800_of_1000_then_refunded_half(api, broker, "m-within")
        first = await settled(api, "m-within", lifetime=800)
        await publish_events(
            broker.bootstrap,
            COMMERCE_PURCHASES,
            [
                refund("m-within", "o-m-within", "500.00", "r-m-within-2"),
                # the member's next purchase comes after the refund on the same partition
                purchase("m-within", "10.00", days_ago=20, order_id="o-m-within-next"),
            ],
        )
        final = await settled(api, "m-within", lifetime=810)

    assert first["available"] == 0  # 200 taken of the 500 due, 300 forgiven
    # the second half is due 500 more with nothing available: forgiven as well, and what was
    # forgiven is never taken from later earnings
    assert final["available"] == 10
