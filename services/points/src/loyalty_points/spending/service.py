"""Spending with an Idempotency-Key, for redemptions and checkout holds alike: the same key and
body answer what was stored; another body is 422; a new key opens the member's account (locked,
settled to now: every spend starts so, and two requests never spend the same points) and checks
that the points are available. A refusal is kept under its key like a success."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal, Protocol, TypeVar

import orjson
from pydantic import BaseModel

from loyalty_points.ledger.settlement import open_account
from loyalty_points.spending import repository
from loyalty_points.spending.errors import (
    IdempotencyKeyReused,
    InsufficientPoints,
    RefusalRecorded,
)
from loyalty_shared.db import Connection

SpendKind = Literal["redemption", "hold", "reward"]


class Keyed(Protocol):
    @property
    def request_hash(self) -> str: ...


K = TypeVar("K", bound=Keyed)


def request_hash(request: BaseModel) -> str:
    """What an Idempotency-Key is bound to: the request body, canonically."""
    return hashlib.sha256(
        orjson.dumps(request.model_dump(), option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


async def stored_or_opened(
    conn: Connection,
    *,
    kind: SpendKind,
    member_id: str,
    key: str,
    digest: str,
    points: int,
    now: datetime,
    find: Callable[[Connection, str, str], Awaitable[K | None]],
) -> K | None:
    """The spend stored under `key` for this same body (`digest`); or, with none, None once the
    account is open for this transaction and holds `points` available. A refused key is refused
    again (409), whatever the balance has become since."""
    if (row := await _stored(conn, kind, member_id, key, digest, find)) is not None:
        return row
    available = await open_account(conn, member_id, now)
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
    conn: Connection,
    kind: SpendKind,
    member_id: str,
    key: str,
    digest: str,
    find: Callable[[Connection, str, str], Awaitable[K | None]],
) -> K | None:
    row = await find(conn, member_id, key)
    if row is not None:
        if row.request_hash != digest:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
        return row
    refusal = await repository.refusal(conn, kind=kind, member_id=member_id, key=key)
    if refusal is None:
        return None
    if refusal.request_hash != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
    raise InsufficientPoints(refusal.detail)
