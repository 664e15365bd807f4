"""Crediting a whole batch in one statement: every purchase gets its own lot and entries, in
the batch's order, however large the batch (earning/repository.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi import FastAPI

from loyalty_points.earning.repository import Credit, credit_purchases
from loyalty_shared.runtime import runtime_of

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def credit(n: int, *, points: int, late: bool = False, event_id: str | None = None) -> Credit:
    purchased_at = NOW - timedelta(days=20 if late else 0)
    return Credit(
        order_id=f"o-{n}",
        member_id=f"m-{n % 7}",
        event_id=event_id or f"e-{n}",
        channel="online",
        currency="CNY",
        total=Decimal(points),
        tier="bronze",
        multiplier=Decimal(1),
        points=points,
        purchased_at=purchased_at,
        available_at=purchased_at + timedelta(days=14),
        expires_at=purchased_at + timedelta(days=365),
        status="available" if late else "pending",
        details={"n": n},
        categories={},
    )


async def test_a_batch_of_two_thousand_gives_each_purchase_its_own_lot_and_entries_in_order(
    points_app: FastAPI,
) -> None:
    credits = [credit(n, points=0 if n % 10 == 3 else n + 1, late=n % 2 == 0) for n in range(2000)]
    # the same order again under another event id: not credited
    credits.append(credit(5, points=999, event_id="e-again"))

    async with runtime_of(points_app).pool.acquire() as conn, conn.transaction():
        credited = await credit_purchases(conn, credits)
        lots = await conn.fetch("SELECT id, order_id, points, status FROM points_lot ORDER BY id")
        entries = await conn.fetch(
            """
            SELECT e.kind, e.order_id, e.lot_id, l.order_id AS lot_order, e.details
            FROM ledger_entry e JOIN points_lot l ON l.id = e.lot_id ORDER BY e.id
            """
        )

    assert credited.event_ids == {f"e-{n}" for n in range(2000)}
    with_points = [c for c in credits[:2000] if c.points > 0]
    assert [(r["order_id"], r["points"]) for r in lots] == [
        (c.order_id, c.points) for c in with_points
    ], "one lot per purchase with points, numbered in the batch's order"
    assert all(e["order_id"] == e["lot_order"] for e in entries), "every entry on its own lot"
    earns = [e["order_id"] for e in entries if e["kind"] == "earn"]
    matured = [e["order_id"] for e in entries if e["kind"] == "mature"]
    assert earns == [c.order_id for c in with_points]
    assert matured == [c.order_id for c in with_points if c.status == "available"]
    assert entries[0]["details"] == {"n": 0}
