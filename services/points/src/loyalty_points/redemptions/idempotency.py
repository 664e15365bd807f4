"""Spending with an Idempotency-Key, for redemptions and checkout holds alike: the same key and
body answer what was stored; another body is 422; a new key locks the member's account (every
spend takes that lock first, so two requests can never spend the same points) and checks that
the points are available."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import asyncpg
import orjson
from pydantic import BaseModel

from loyalty_points.ledger import repository as ledger
from loyalty_points.redemptions.errors import IdempotencyKeyReused, InsufficientPoints
from loyalty_shared.db import Connection

FindByKey = Callable[[Connection, str, str], Awaitable[asyncpg.Record | None]]


def request_hash(request: BaseModel) -> str:
    """What an Idempotency-Key is bound to: the request body, canonically."""
    return hashlib.sha256(
        orjson.dumps(request.model_dump(), option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


async def stored_or_locked(
    conn: Connection, *, member_id: str, key: str, request: BaseModel, points: int, find: FindByKey
) -> asyncpg.Record | None:
    """The row stored under `key` for this same body; or, with none, None once the account is
    locked for this transaction and holds `points` available."""
    row = await find(conn, member_id, key)
    if row is None:
        available = await ledger.lock_account(conn, member_id)
        # A request with the same key may have committed while we waited for the lock.
        row = await find(conn, member_id, key)
        if row is None:
            if available < points:
                raise InsufficientPoints(f"{points} points asked, {available} available")
            return None
    if row["request_hash"] != request_hash(request):
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
    return row
