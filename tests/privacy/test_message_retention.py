"""Retention in the notifications service: a finished message keeps what it was rendered from for
`LOYALTY_NOTIFICATIONS_MESSAGE_RETENTION_DAYS` (180), a survey invitation its link until the link
expires; then a scheduled job scrubs them, leaving the history (trigger, channel, status, times)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from loyalty_notifications.app import MIGRATIONS
from loyalty_notifications.privacy.jobs import scrub
from loyalty_shared.db.migrations import migrate

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
KEEP = timedelta(days=180)
LINK = "https://shop.example.com/survey?token=eyJ.secret"


@pytest.fixture
async def pool(new_database: object) -> AsyncIterator[asyncpg.Pool]:
    assert callable(new_database)
    url = new_database("notifications")
    await migrate(url, MIGRATIONS)
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        yield pool


async def message(
    pool: asyncpg.Pool,
    trigger: str,
    *,
    age_days: float,
    status: str = "sent",
    payload: dict[str, object],
    expires_in_days: float | None = None,
) -> uuid.UUID:
    created = NOW - timedelta(days=age_days)
    expires = None if expires_in_days is None else NOW + timedelta(days=expires_in_days)
    id = uuid.uuid4()
    await pool.execute(
        """
        INSERT INTO notification (id, member_id, trigger, cause, channel, status, payload,
                                  due_at, expires_at, created_at, updated_at)
        VALUES ($1, 'm-1', $2, $7, 'email', $3, $4::jsonb, $5, $6, $5, $5)
        """,
        id,
        trigger,
        status,
        orjson.dumps(payload).decode(),
        created,
        expires,
        str(id),
    )
    return id


async def payloads(pool: asyncpg.Pool) -> dict[uuid.UUID, object]:
    rows = await pool.fetch("SELECT id, payload::text FROM notification")
    return {r["id"]: orjson.loads(r["payload"]) for r in rows}


async def test_contents_older_than_the_retention_and_expired_survey_links_are_scrubbed(
    pool: asyncpg.Pool,
) -> None:
    old = await message(pool, "tier_upgraded", age_days=181, payload={"to_tier": "gold"})
    recent = await message(pool, "tier_upgraded", age_days=179, payload={"to_tier": "gold"})
    old_scheduled = await message(
        pool, "points_digest", age_days=200, status="scheduled", payload={"points": 5}
    )
    expired_link = await message(
        pool,
        "feedback_invitation",
        age_days=20,
        payload={"order_id": "o-1", "survey_url": LINK},
        expires_in_days=-6,
    )
    open_link = await message(
        pool,
        "feedback_invitation",
        age_days=3,
        payload={"order_id": "o-2", "survey_url": LINK},
        expires_in_days=11,
    )

    assert await scrub(pool, now=NOW, keep=KEEP) == (1, 1)

    assert await payloads(pool) == {
        old: {},
        recent: {"to_tier": "gold"},
        old_scheduled: {"points": 5},  # not finished: it is still to be rendered
        expired_link: {"order_id": "o-1"},
        open_link: {"order_id": "o-2", "survey_url": LINK},
    }
    assert await scrub(pool, now=NOW, keep=KEEP) == (0, 0)
