"""Reviewing a flagged member: support or an admin releases the points held since the flag (they
mature as usual from then on, at once when their return window is over) or voids them
(`review_void` entries take them out of `pending` and `lifetime_earned`), and every open flag of
the member closes. Once per Idempotency-Key: the same key and body answer the same review, another
body is 422, and nothing is decided twice."""

from __future__ import annotations

from datetime import datetime

from loyalty_points.abuse import repository
from loyalty_points.abuse.errors import NotFlagged
from loyalty_points.abuse.repository import FlagRow, HeldLot, ReviewRow
from loyalty_points.abuse.schemas import Flag, MemberReview, Review, ReviewCreate
from loyalty_points.abuse.schemas import HeldLot as HeldLotView
from loyalty_points.ledger import repository as ledger
from loyalty_points.ledger.settlement import open_account, settle
from loyalty_points.spending.errors import IdempotencyKeyReused
from loyalty_points.spending.service import request_hash
from loyalty_shared.db import Connection

#: How many of a member's latest flags their review shows.
FLAGS_SHOWN = 20


def flag_view(row: FlagRow) -> Flag:
    return Flag(
        id=row.id,
        member_id=row.member_id,
        reason=row.reason,
        threshold=str(row.threshold),
        observed=str(row.observed),
        local_day=row.local_day,
        flagged_at=row.flagged_at,
        event_id=row.cause_event_id,
        status=row.status,
        review_id=row.review_id,
    )


def review_view(row: ReviewRow) -> Review:
    return Review(
        id=row.id,
        member_id=row.member_id,
        decision=row.decision,
        reason=row.reason,
        points=row.points,
        flag_ids=row.flag_ids,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


async def member_review(conn: Connection, member_id: str) -> MemberReview:
    """The member's flags and the points held for review (settled to now by the caller)."""
    flags = await repository.flags_of(conn, member_id, limit=FLAGS_SHOWN)
    lots = [lot for lot in await repository.held_lots(conn, member_id) if lot.remaining > 0]
    return MemberReview(
        member_id=member_id,
        flagged=any(flag.status == "open" for flag in flags),
        held_points=sum(lot.remaining for lot in lots),
        held_lots=[
            HeldLotView(
                id=lot.id,
                order_id=lot.order_id,
                points=lot.remaining,
                earned_at=lot.earned_at,
                available_at=lot.available_at,
                expires_at=lot.expires_at,
            )
            for lot in lots
        ],
        flags=[flag_view(flag) for flag in flags],
    )


async def decide(
    conn: Connection,
    *,
    member_id: str,
    key: str,
    request: ReviewCreate,
    actor: str,
    now: datetime,
) -> tuple[Review, bool]:
    """Release or void what the member's flags hold; returns the review and whether it was
    decided now (False: the review stored under `key`, answered again)."""
    digest = request_hash(request)
    if (stored := await _stored(conn, member_id, key, digest)) is not None:
        return stored, False
    await open_account(conn, member_id, now)
    # a request with the same key may have committed while we waited for the account
    if (stored := await _stored(conn, member_id, key, digest)) is not None:
        return stored, False
    flags = await repository.open_flags(conn, member_id)
    if not flags:
        raise NotFlagged(f"member {member_id} has no open flag to review")
    lots = await repository.held_lots(conn, member_id, for_update=True)
    review_id = await repository.insert_review(
        conn,
        member_id=member_id,
        key=key,
        request_hash=digest,
        decision=request.decision,
        reason=request.reason,
        points=sum(lot.remaining for lot in lots),
        decided_by=actor,
        decided_at=now,
    )
    if request.decision == "release":
        await repository.release_lots(conn, [lot.id for lot in lots], now)
        await settle(conn, [member_id], now)  # what is past its return window matures now
    else:
        await _void(
            conn, member_id, lots, review_id=review_id, reason=request.reason, actor=actor, now=now
        )
        await repository.end_review(conn, [lot.id for lot in lots])
    await repository.close_flags(
        conn,
        [flag.id for flag in flags],
        status="released" if request.decision == "release" else "voided",
        review_id=review_id,
    )
    return review_view(await repository.review(conn, review_id)), True


async def _void(
    conn: Connection,
    member_id: str,
    lots: list[HeldLot],
    *,
    review_id: int,
    reason: str,
    actor: str,
    now: datetime,
) -> None:
    """Each held lot's points reversed by a `review_void` entry (they are pending: held lots
    never mature); a purchase's are counted on its order, so a later refund of it takes what
    is left of its points, not these again."""
    for lot in lots:
        if lot.remaining == 0:
            continue
        await ledger.move(
            conn,
            ledger.Movement(
                member_id=member_id,
                kind="review_void",
                actor=actor,
                occurred_at=now,
                pending_delta=-lot.remaining,
                lifetime_delta=-lot.remaining,
                order_id=lot.order_id,
                lot_id=lot.id,
                details={"review_id": review_id, "reason": reason},
            ),
            first_from=(lot.id, lot.remaining),
        )
        if lot.order_id is not None:
            await repository.count_voided(conn, lot.order_id, lot.remaining)


async def _stored(conn: Connection, member_id: str, key: str, digest: str) -> Review | None:
    row = await repository.review_by_key(conn, member_id, key)
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
    return review_view(row)
