"""`tier.downgrade_warning`: 30 days before an evaluation that would drop a member a tier at the
spend that will still count then, once per validity period, set-based like the evaluation."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import asyncpg

from loyalty_shared.db import Connection
from loyalty_shared.db.outbox import enqueue_events
from loyalty_shared.events.emitting import platform_event
from loyalty_shared.events.envelope import OutgoingEvent
from loyalty_shared.events.loyalty import TierDowngradeWarningV1
from loyalty_shared.kafka.topics import LOYALTY_TIERS
from loyalty_shared.program.schema import Program
from loyalty_tiers.events import SOURCE

NOTICE = timedelta(days=30)
BATCH = 2000


async def _due(conn: Connection, program: Program, now: datetime) -> list[asyncpg.Record]:
    ladder = program.tiers.ladder
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        WITH ladder AS (
            SELECT name, threshold, (n - 1)::int AS rank
            FROM unnest($3::text[], $4::numeric[]) WITH ORDINALITY AS l (name, threshold, n)
        ), due AS (
            SELECT m.member_id, m.tier, m.valid_until FROM member_tier m
            WHERE m.valid_until > $1 AND m.valid_until <= $2
              AND m.warned_for IS DISTINCT FROM m.valid_until
              AND (m.override_until IS NULL OR m.override_until <= m.valid_until)
              AND m.tier <> $3[1]
            ORDER BY m.member_id LIMIT $6
            FOR UPDATE SKIP LOCKED
        ), projected AS (
            SELECT d.member_id, d.tier, d.valid_until, cur.rank, cur.threshold,
                   coalesce(sum(s.amount), 0) AS spend
            FROM due d
            JOIN ladder cur ON cur.name = d.tier
            LEFT JOIN spend_day s
                   ON s.member_id = d.member_id AND s.day > (d.valid_until - $5::interval)::date
            GROUP BY d.member_id, d.tier, d.valid_until, cur.rank, cur.threshold
        ), stamped AS (
            UPDATE member_tier m SET warned_for = m.valid_until
              FROM due WHERE m.member_id = due.member_id
        )
        SELECT p.member_id, p.tier, p.valid_until, p.spend, p.threshold - p.spend AS needed,
               (SELECT name FROM ladder l WHERE l.rank = p.rank - 1) AS drop_to
        FROM projected p WHERE p.spend < p.threshold
        """,
        now,
        now + NOTICE,
        [tier.name for tier in ladder],
        [tier.threshold for tier in ladder],
        timedelta(days=program.tiers.qualifying_window_days),
        BATCH,
    )
    return rows


async def warn(pool: asyncpg.Pool, program: Program, now: datetime) -> int:
    warned = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await _due(conn, program, now)
            await enqueue_events(conn, topic=LOYALTY_TIERS, events=[_event(r) for r in rows])
        warned += len(rows)
        if not rows:
            return warned


def _event(row: asyncpg.Record) -> OutgoingEvent:
    cause = f"downgrade-warning:{row['member_id']}:{row['valid_until'].isoformat()}"
    data = TierDowngradeWarningV1(
        member_id=row["member_id"],
        tier=row["tier"],
        would_drop_to=row["drop_to"],
        evaluation_at=row["valid_until"],
        qualifying_spend_then=Decimal(row["spend"]).quantize(Decimal("0.01")),
        spend_needed=Decimal(row["needed"]).quantize(Decimal("0.01")),
        causation_id=cause,
    )
    return platform_event(data, source=SOURCE)
