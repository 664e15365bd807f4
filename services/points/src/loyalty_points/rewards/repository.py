"""SQL of the rewards catalogue, its stock of coupon codes and members' reward redemptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import asyncpg

from loyalty_shared.db import Connection
from loyalty_shared.events.fields import LocalizedText

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Row = TypeVar("_Row", bound="DataclassInstance")

#: What a reward's stock is: the codes left to issue, or null for an unlimited reward.
_STOCK = """CASE WHEN r.unlimited THEN NULL ELSE (
    SELECT count(*) FROM coupon c WHERE c.reward_id = r.reward_id AND c.status = 'available'
) END AS stock"""
_TERMS = """r.reward_id, r.name, r.points, r.codes, r.unlimited, r.min_tier, r.available_from,
    r.available_until, r.per_member_limit, r.coupon_value, r.coupon_currency,
    r.coupon_valid_days, r.status, r.created_at, r.updated_at, r.retired_at"""
_REWARD = f"{_TERMS}, {_STOCK}"


def _of(cls: type[_Row], record: asyncpg.Record) -> _Row:
    """A `cls` of the record's columns it has a field for."""
    return cls(**{f.name: record[f.name] for f in fields(cls) if f.name in record})


@dataclass(frozen=True, slots=True)
class Terms:
    """A reward's definition as stored (the catalogue's API checked it)."""

    name: LocalizedText
    points: int
    codes: str
    unlimited: bool
    min_tier: str | None
    available_from: datetime | None
    available_until: datetime | None
    per_member_limit: int | None
    coupon_value: Decimal
    coupon_currency: str
    coupon_valid_days: int


@dataclass(frozen=True, slots=True)
class RewardRow(Terms):
    """A reward of the catalogue: its terms, its state and (when counted) its stock."""

    reward_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    retired_at: datetime | None
    stock: int | None = None


# --- the catalogue -----------------------------------------------------------------------


async def insert_reward(conn: Connection, reward_id: str, terms: Terms, now: datetime) -> bool:
    """False if a reward with this id exists (nothing changes then)."""
    inserted = await conn.fetchval(
        """
        INSERT INTO reward (reward_id, name, points, codes, unlimited, min_tier, available_from,
                            available_until, per_member_limit, coupon_value, coupon_currency,
                            coupon_valid_days, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
        ON CONFLICT (reward_id) DO NOTHING
        RETURNING true
        """,
        reward_id,
        *_terms(terms),
        now,
    )
    return bool(inserted)


async def update_reward(conn: Connection, reward_id: str, terms: Terms, now: datetime) -> None:
    await conn.execute(
        """
        UPDATE reward
           SET name = $2, points = $3, codes = $4, unlimited = $5, min_tier = $6,
               available_from = $7, available_until = $8, per_member_limit = $9,
               coupon_value = $10, coupon_currency = $11, coupon_valid_days = $12,
               updated_at = $13
         WHERE reward_id = $1
        """,
        reward_id,
        *_terms(terms),
        now,
    )


def _terms(terms: Terms) -> tuple[Any, ...]:
    return (
        terms.name,
        terms.points,
        terms.codes,
        terms.unlimited,
        terms.min_tier,
        terms.available_from,
        terms.available_until,
        terms.per_member_limit,
        terms.coupon_value,
        terms.coupon_currency,
        terms.coupon_valid_days,
    )


async def reward(
    conn: Connection, reward_id: str, *, lock: bool = False, stock: bool = True
) -> RewardRow | None:
    """With `lock`, the reward row is locked for this transaction: changes to one reward (its
    terms, its stock, uploads of codes) happen one at a time; redemptions never take it.
    Without `stock`, the units left are not counted (None)."""
    row = await conn.fetchrow(
        f"SELECT {_REWARD if stock else _TERMS} FROM reward r WHERE r.reward_id = $1"
        + (" FOR UPDATE" if lock else ""),
        reward_id,
    )
    return _of(RewardRow, row) if row else None


async def rewards_page(
    conn: Connection, *, after: str | None, limit: int, include_retired: bool
) -> list[RewardRow]:
    rows = await conn.fetch(
        f"""
        SELECT {_REWARD} FROM reward r
        WHERE ($1::text IS NULL OR r.reward_id > $1) AND ($3 OR r.status = 'active')
        ORDER BY r.reward_id LIMIT $2
        """,
        after,
        limit,
        include_retired,
    )
    return [_of(RewardRow, r) for r in rows]


async def retire(conn: Connection, reward_id: str, now: datetime) -> None:
    await conn.execute(
        """
        UPDATE reward SET status = 'retired', retired_at = $2, updated_at = $2
        WHERE reward_id = $1 AND status = 'active'
        """,
        reward_id,
        now,
    )


async def add_codes(conn: Connection, reward_id: str, codes: Sequence[str]) -> set[str]:
    """Store the codes as units of the reward's stock; returns those stored (a code already
    known, to this reward or another, is not)."""
    rows = await conn.fetch(
        """
        INSERT INTO coupon (reward_id, code, status)
        SELECT $1, code, 'available' FROM unnest($2::text[]) AS code
        ON CONFLICT (code) DO NOTHING
        RETURNING code
        """,
        reward_id,
        list(codes),
    )
    return {r["code"] for r in rows}


async def remove_units(conn: Connection, reward_id: str, count: int) -> None:
    """Take back up to `count` codes never issued (newest first; those being redeemed at this
    moment are left to their redemption)."""
    await conn.execute(
        """
        DELETE FROM coupon WHERE id = ANY(ARRAY(
            SELECT id FROM coupon WHERE reward_id = $1 AND status = 'available'
            ORDER BY id DESC LIMIT $2 FOR UPDATE SKIP LOCKED))
        """,
        reward_id,
        count,
    )


# --- a member's rewards ------------------------------------------------------------------


async def redeemable(
    conn: Connection, *, member_id: str, tiers: Sequence[str], now: datetime
) -> list[tuple[RewardRow, int]]:
    """The rewards `member_id` may redeem at `now` with a tier among `tiers` (theirs and those
    below), each with how many of it they have (counted to its limit)."""
    rows = await conn.fetch(
        f"""
        SELECT * FROM (
            SELECT {_REWARD},
                   (SELECT count(*) FROM reward_redemption rr
                    WHERE rr.member_id = $1 AND rr.reward_id = r.reward_id
                      AND rr.status = 'completed') AS redeemed
            FROM reward r
            WHERE r.status = 'active'
              AND (r.min_tier IS NULL OR r.min_tier = ANY($2::text[]))
              AND (r.available_from IS NULL OR r.available_from <= $3)
              AND (r.available_until IS NULL OR r.available_until > $3)
        ) r
        WHERE (r.stock IS NULL OR r.stock > 0)
          AND (r.per_member_limit IS NULL OR r.redeemed < r.per_member_limit)
        ORDER BY r.points, r.reward_id
        """,
        member_id,
        list(tiers),
        now,
    )
    return [(_of(RewardRow, r), r["redeemed"]) for r in rows]


async def redeemed_count(conn: Connection, member_id: str, reward_id: str) -> int:
    count: int = await conn.fetchval(
        """
        SELECT count(*) FROM reward_redemption
        WHERE member_id = $1 AND reward_id = $2 AND status = 'completed'
        """,
        member_id,
        reward_id,
    )
    return count


# --- stock and coupons -------------------------------------------------------------------


async def issue_from_stock(
    conn: Connection,
    reward_id: str,
    *,
    member_id: str,
    redemption_id: UUID,
    issued_at: datetime,
    expires_at: datetime,
) -> tuple[int, str] | None:
    """A code of the reward's stock issued to the member (its id and code); None when none is
    left. Codes another redemption holds are skipped rather than waited for: concurrent
    redemptions of one reward take different codes, and the last one goes to exactly one."""
    row = await conn.fetchrow(
        """
        UPDATE coupon SET status = 'issued', member_id = $2, redemption_id = $3, issued_at = $4,
                          expires_at = $5
        WHERE id = (SELECT id FROM coupon WHERE reward_id = $1 AND status = 'available'
                    ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id, code
        """,
        reward_id,
        member_id,
        redemption_id,
        issued_at,
        expires_at,
    )
    return (row["id"], row["code"]) if row else None


async def issue_new(
    conn: Connection,
    code: str,
    *,
    reward_id: str,
    member_id: str,
    redemption_id: UUID,
    issued_at: datetime,
    expires_at: datetime,
) -> int | None:
    """Issue a fresh code (unlimited rewards); None if the code exists already."""
    coupon_id: int | None = await conn.fetchval(
        """
        INSERT INTO coupon (reward_id, code, status, member_id, redemption_id, issued_at,
                            expires_at)
        VALUES ($1, $2, 'issued', $3, $4, $5, $6)
        ON CONFLICT (code) DO NOTHING
        RETURNING id
        """,
        reward_id,
        code,
        member_id,
        redemption_id,
        issued_at,
        expires_at,
    )
    return coupon_id


async def end_coupon(conn: Connection, coupon_id: int, *, status: str, at: datetime) -> None:
    """An issued coupon is void (its redemption cancelled) or expired."""
    await conn.execute(
        "UPDATE coupon SET status = $2, ended_at = $3 WHERE id = $1", coupon_id, status, at
    )


@dataclass(frozen=True, slots=True)
class UsedCoupon:
    member_id: str
    code: str
    reward_id: str
    redemption_id: UUID
    order_id: str
    used_at: datetime
    event_id: str


async def use(
    conn: Connection,
    *,
    codes: Sequence[str],
    order_ids: Sequence[str],
    times: Sequence[datetime],
    event_ids: Sequence[str],
) -> list[UsedCoupon]:
    """Mark issued coupons used by the orders that name them; a code named twice is used by
    the first (in the order given), a code not issued (unknown, used, expired, void) is left
    alone."""
    rows = await conn.fetch(
        """
        WITH named AS (
            SELECT DISTINCT ON (code) code, order_id, at, event_id
            FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])
                 WITH ORDINALITY AS u (code, order_id, at, event_id, n)
            ORDER BY code, n
        )
        UPDATE coupon c SET status = 'used', used_at = named.at, used_order_id = named.order_id
        FROM named WHERE c.code = named.code AND c.status = 'issued'
        RETURNING c.member_id, c.code, c.reward_id, c.redemption_id, named.order_id,
                  named.at AS used_at, named.event_id
        """,
        list(codes),
        list(order_ids),
        list(times),
        list(event_ids),
    )
    return [UsedCoupon(**dict(r)) for r in rows]


async def unused_until(conn: Connection, *, now: datetime, limit: int) -> list[tuple[str, UUID]]:
    """Coupons issued and not used whose validity has ended by `now`, oldest first: each one's
    member and redemption."""
    rows = await conn.fetch(
        """
        SELECT member_id, redemption_id FROM coupon
        WHERE status = 'issued' AND expires_at <= $1
        ORDER BY expires_at, id LIMIT $2
        """,
        now,
        limit,
    )
    return [(r["member_id"], r["redemption_id"]) for r in rows]


@dataclass(frozen=True, slots=True)
class Reminder:
    """An unused coupon about to expire, with its reward's name and value."""

    id: int
    member_id: str
    code: str
    reward_id: str
    redemption_id: UUID
    expires_at: datetime
    name: LocalizedText
    coupon_value: Decimal
    coupon_currency: str


async def remind(
    conn: Connection, *, now: datetime, horizon: datetime, limit: int
) -> list[Reminder]:
    """Unused coupons expiring before `horizon` whose member was not reminded yet, stamped in
    the same statement (once each, safe with replicas)."""
    rows = await conn.fetch(
        """
        WITH due AS (
            SELECT id FROM coupon
            WHERE status = 'issued' AND expiry_notice_at IS NULL
              AND expires_at > $1 AND expires_at <= $2
            ORDER BY expires_at, id LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        UPDATE coupon c SET expiry_notice_at = $1 FROM due, reward r
        WHERE c.id = due.id AND r.reward_id = c.reward_id
        RETURNING c.id, c.member_id, c.code, c.reward_id, c.redemption_id, c.expires_at,
                  r.name, r.coupon_value, r.coupon_currency
        """,
        now,
        horizon,
        limit,
    )
    return [Reminder(**dict(r)) for r in rows]


# --- reward redemptions ------------------------------------------------------------------

_REDEMPTION = """rr.id, rr.member_id, rr.reward_id, rr.request_hash, rr.status, rr.points,
    rr.problem, rr.detail, rr.created_at, rr.cancelled_at, rr.coupon_id, r.name,
    r.coupon_value, r.coupon_currency, r.coupon_valid_days, r.codes, r.unlimited,
    c.code, c.status AS coupon_status, c.expires_at, c.used_at, c.used_order_id"""
_JOINS = """reward_redemption rr JOIN reward r USING (reward_id)
    LEFT JOIN coupon c ON c.id = rr.coupon_id"""
#: Completed or cancelled redemptions have their coupon (refused ones none).
_ISSUED = """reward_redemption rr JOIN reward r USING (reward_id)
    JOIN coupon c ON c.id = rr.coupon_id"""


@dataclass(frozen=True, slots=True)
class RedemptionRow:
    """A completed or cancelled redemption, with its reward's terms and its coupon."""

    id: UUID
    member_id: str
    reward_id: str
    request_hash: str
    status: str
    points: int
    created_at: datetime
    cancelled_at: datetime | None
    coupon_id: int
    name: LocalizedText
    coupon_value: Decimal
    coupon_currency: str
    coupon_valid_days: int
    codes: str
    unlimited: bool
    code: str
    coupon_status: str
    expires_at: datetime
    used_at: datetime | None
    used_order_id: str | None


@dataclass(frozen=True, slots=True)
class RefusedRedemption:
    """A redemption refused: the problem's name and detail it was answered."""

    request_hash: str
    problem: str
    detail: str


async def by_key(
    conn: Connection, member_id: str, key: str
) -> RedemptionRow | RefusedRedemption | None:
    """What was answered under the member's Idempotency-Key (a redemption or a refusal)."""
    row = await conn.fetchrow(
        f"SELECT {_REDEMPTION} FROM {_JOINS} WHERE rr.member_id = $1 AND rr.idempotency_key = $2",
        member_id,
        key,
    )
    if row is None:
        return None
    if row["status"] == "refused":
        return RefusedRedemption(row["request_hash"], row["problem"], row["detail"])
    return _of(RedemptionRow, row)


async def by_id(
    conn: Connection, member_id: str, redemption_id: UUID, *, lock: bool = False
) -> RedemptionRow | None:
    """A completed or cancelled redemption; with `lock`, it and its coupon are locked."""
    row = await conn.fetchrow(
        f"""
        SELECT {_REDEMPTION} FROM {_ISSUED}
        WHERE rr.member_id = $1 AND rr.id = $2
        {"FOR UPDATE OF rr, c" if lock else ""}
        """,
        member_id,
        redemption_id,
    )
    return _of(RedemptionRow, row) if row else None


async def page(
    conn: Connection, member_id: str, *, before: int | None, limit: int
) -> list[tuple[RedemptionRow, int]]:
    """A member's redemptions newest first, each with its `seq`, the page's cursor."""
    rows = await conn.fetch(
        f"""
        SELECT {_REDEMPTION}, rr.seq FROM {_ISSUED}
        WHERE rr.member_id = $1 AND ($2::bigint IS NULL OR rr.seq < $2)
        ORDER BY rr.seq DESC LIMIT $3
        """,
        member_id,
        before,
        limit,
    )
    return [(_of(RedemptionRow, r), r["seq"]) for r in rows]


async def insert_redemption(
    conn: Connection,
    *,
    redemption_id: UUID,
    member_id: str,
    key: str,
    request_hash: str,
    reward_id: str,
    at: datetime,
    points: int | None = None,
    coupon_id: int | None = None,
    problem: str | None = None,
    detail: str | None = None,
) -> None:
    """A completed redemption (its points and coupon), or a refused one (the problem's name and
    detail), kept under the member's Idempotency-Key."""
    await conn.execute(
        """
        INSERT INTO reward_redemption (id, member_id, idempotency_key, request_hash, reward_id,
                                       status, points, coupon_id, problem, detail, created_at)
        VALUES ($1, $2, $3, $4, $5, CASE WHEN $8::text IS NULL THEN 'completed' ELSE 'refused' END,
                $6, $7, $8, $9, $10)
        """,
        redemption_id,
        member_id,
        key,
        request_hash,
        reward_id,
        points,
        coupon_id,
        problem,
        detail,
        at,
    )


async def mark_cancelled(
    conn: Connection, redemption_id: UUID, *, actor: str, at: datetime
) -> None:
    await conn.execute(
        """
        UPDATE reward_redemption SET status = 'cancelled', cancelled_at = $2, cancelled_by = $3
        WHERE id = $1
        """,
        redemption_id,
        at,
        actor,
    )
