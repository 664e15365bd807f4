"""A member's insight computed now, and the segments overview as of the last recompute."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal

from loyalty_feedback.insight import repository
from loyalty_feedback.insight.schemas import MemberInsight, Segments, SegmentStats
from loyalty_shared.db import Connection
from loyalty_shared.program.schema import Program


async def insight_of(
    conn: Connection, program: Program, member_id: str, now: datetime
) -> MemberInsight:
    [scores] = await repository.compute(conn, [member_id], now=now, currency=program.currency)
    seen = scores.purchases > 0
    return MemberInsight.model_validate(
        {
            **asdict(scores),
            "segment": scores.segment if seen else None,
            "loyalty_index": scores.loyalty_index if seen else 0,
            "repeat_customer": scores.orders >= 2,
            "average_order_value": (
                (scores.clv / scores.orders).quantize(Decimal("0.01")) if scores.orders else None
            ),
            "as_of": now,
        }
    )


async def segments(conn: Connection, now: datetime) -> Segments:
    rows = await repository.segments(conn, now=now)
    members = sum(row.members for row in rows)
    repeaters = sum(row.repeaters for row in rows)
    return Segments(
        items=[SegmentStats.model_validate(row, from_attributes=True) for row in rows],
        members=members,
        repeat_purchase_rate=round(100 * repeaters / members, 1) if members else None,
    )
