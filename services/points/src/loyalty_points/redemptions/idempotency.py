"""Spending with an Idempotency-Key, for redemptions, checkout holds and rewards alike: the same
key and body answer what was stored; another body is 422; a new key locks the member's account
(every spend takes that lock first, so two requests can never spend the same points) and checks
that the points are available."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Literal

import asyncpg
import orjson
from pydantic import BaseModel

from loyalty_points.ledger import repository as ledger
from loyalty_points.redemptions import repository
from loyalty_points.redemptions.errors import (
    IdempotencyKeyReused,
    InsufficientPoints,
    RefusalRecorded,
)
from loyalty_shared.db import Connection

SpendKind = Literal["redemption", "hold", "reward"]
FindByKey = Callable[[Connection, str, str], Awaitable[asyncpg.Record | None]]


def request_hash(request: BaseModel) -> str:
    """What an Idempotency-Key is bound to: the request body, canonically."""
    return hashlib.sha256(
        orjson.dumps(request.model_dump(), option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


async def stored_or_locked(
    conn: Connection,
    *,
    kind: SpendKind,
    member_id: str,
    key: str,
    digest: str,
    points: int,
    find: FindByKey,
) -> asyncpg.Record | None:
    """The row stored under `key` for this same body (`digest`, its `request_hash`); or, with
    none, None once the account is locked for this transaction and holds `points` available. A
    refusal is stored too: the same key and body are refused again (409), whatever the balance
    has become since."""
    if (row := await _stored(conn, kind, member_id, key, digest, find)) is not None:
        return row
    available = await ledger.lock_account(conn, member_id)
    # A request with the same key may have committed while we waited for the lock.
    if (row := await _stored(conn, kind, member_id, key, digest, find)) is not None:
        return row
    if available < points:
        detail = f"{points} points asked, {available} available"
        await repository.record_refusal(
            conn, kind=kind, member_id=member_id, key=key, request_hash=digest, detail=detail
        )
        raise RefusalRecorded(detail)
    return None


async def _stored(
    conn: Connection, kind: SpendKind, member_id: str, key: str, digest: str, find: FindByKey
) -> asyncpg.Record | None:
    row = await find(conn, member_id, key)
    stored = row or await repository.refusal(conn, kind=kind, member_id=member_id, key=key)
    if stored is None:
        return None
    if stored["request_hash"] != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
    if row is None:
        raise InsufficientPoints(stored["detail"])
    return row
