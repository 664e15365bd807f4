"""Redeeming a reward, all or nothing in the request's transaction: the points are spent (oldest
first), one code of the stock is taken and issued as the member's coupon, `reward.redeemed`
goes to the outbox; or nothing changes and the member is told why (409).

The member's account row is locked first (the one lock order of the points service), so a
member's redemptions happen one at a time and the per-member limit holds under concurrency;
the stock is a code taken with SKIP LOCKED, so members redeeming one reward never wait for each
other and the last code goes to exactly one of them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import partial
from uuid import UUID

from loyalty_points.events import emit
from loyalty_points.ledger import repository as ledger
from loyalty_points.ledger.expiry import LotExpiry
from loyalty_points.ledger.settlement import open_account, settle_if_due
from loyalty_points.rewards import catalogue, codes, repository, spending
from loyalty_points.rewards.errors import (
    REFUSALS,
    CouponAlreadyUsed,
    CouponExpired,
    LimitReached,
    NotAvailable,
    OutOfStock,
    RedemptionNotFound,
    RedemptionRefused,
    TierTooLow,
    UnknownReward,
)
from loyalty_points.rewards.repository import RedemptionRow, RefusedRedemption, RewardRow
from loyalty_points.rewards.schemas import (
    MemberReward,
    MemberRewards,
    RewardRedemption,
    RewardRedemptionCreate,
    RewardRedemptionPage,
    coupon_terms,
)
from loyalty_points.spending.service import request_hash, stored_or_opened
from loyalty_points.tier_projection.repository import current_tiers
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import CouponVoidedV1, RewardRedeemedV1
from loyalty_shared.program.schema import Program


def view(row: RedemptionRow) -> RewardRedemption:
    return RewardRedemption(
        redemption_id=row.id,
        member_id=row.member_id,
        reward_id=row.reward_id,
        reward_name=row.name,
        points=row.points,
        coupon_code=row.code,
        coupon_expires_at=row.expires_at,
        coupon=coupon_terms(row.coupon_value, row.coupon_currency, row.coupon_valid_days),
        status="cancelled" if row.status == "cancelled" else row.coupon_status,
        created_at=row.created_at,
        used_at=row.used_at,
        used_order_id=row.used_order_id,
        cancelled_at=row.cancelled_at,
    )


async def _tier(conn: Connection, member_id: str, program: Program) -> str:
    return (await current_tiers(conn, [member_id])).get(member_id, program.base_tier.name)


async def _refusal(
    conn: Connection, reward: RewardRow, member_id: str, program: Program, now: datetime
) -> RedemptionRefused | None:
    """Why the member may not have the reward now (stock aside), if they may not."""
    if reward.status != "active":
        return NotAvailable(f"reward {reward.reward_id} is retired")
    if reward.available_from is not None and now < reward.available_from:
        return NotAvailable(f"reward {reward.reward_id} is available from {reward.available_from}")
    if reward.available_until is not None and now >= reward.available_until:
        return NotAvailable(f"reward {reward.reward_id} ended at {reward.available_until}")
    if reward.min_tier is not None:
        tier = await _tier(conn, member_id, program)
        if program.tier_rank(tier) < program.tier_rank(reward.min_tier):
            return TierTooLow(f"reward {reward.reward_id} is for {reward.min_tier} and above")
    if reward.per_member_limit is not None:
        redeemed = await repository.redeemed_count(conn, member_id, reward.reward_id)
        if redeemed >= reward.per_member_limit:
            return LimitReached(
                f"reward {reward.reward_id} may be redeemed {reward.per_member_limit} times"
            )
    return None


async def redeem(
    conn: Connection,
    *,
    member_id: str,
    key: str,
    request: RewardRedemptionCreate,
    actor: str,
    program: Program,
    now: datetime,
) -> RewardRedemption:
    reward = await repository.reward(conn, request.reward_id, stock=False)
    if reward is None:
        raise UnknownReward(f"no reward {request.reward_id!r} in the catalogue")
    digest = request_hash(request)
    answered = await stored_or_opened(
        conn,
        kind="reward",
        member_id=member_id,
        key=key,
        digest=digest,
        points=reward.points,
        now=now,
        find=repository.by_key,
    )
    if isinstance(answered, RefusedRedemption):
        raise REFUSALS[answered.problem](answered.detail)
    if isinstance(answered, RedemptionRow):
        return view(answered)
    redemption_id = uuid.uuid4()
    expires_at = now + timedelta(days=reward.coupon_valid_days)
    refusal = await _refusal(conn, reward, member_id, program, now)
    issued = None
    if refusal is None and not reward.unlimited:
        issued = await repository.issue_from_stock(
            conn,
            reward.reward_id,
            member_id=member_id,
            redemption_id=redemption_id,
            issued_at=now,
            expires_at=expires_at,
        )
        if issued is None:
            refusal = OutOfStock(f"reward {reward.reward_id} has no units left")
    # The outcome, a refusal or a coupon, is kept under the key to answer the same again.
    keep = partial(
        repository.insert_redemption,
        conn,
        redemption_id=redemption_id,
        member_id=member_id,
        key=key,
        request_hash=digest,
        reward_id=reward.reward_id,
        at=now,
    )
    if refusal is not None:
        await keep(problem=refusal.type.rsplit(":", 1)[1], detail=refusal.detail or refusal.title)
        raise refusal
    await spending.spend(
        conn,
        member_id=member_id,
        redemption_id=redemption_id,
        points=reward.points,
        reward_id=reward.reward_id,
        request_hash=digest,
        actor=actor,
        expiry=LotExpiry.of(program),
        at=now,
    )
    unit, code = issued or await _issue_new(conn, reward, member_id, redemption_id, now, expires_at)
    await keep(points=reward.points, coupon_id=unit)
    await emit(
        conn,
        RewardRedeemedV1(
            member_id=member_id,
            reward_id=reward.reward_id,
            redemption_id=str(redemption_id),
            points=reward.points,
            coupon_code=code,
            coupon_expires_at=expires_at,
            reward_name=reward.name,
            coupon_value=reward.coupon_value,
            coupon_currency=reward.coupon_currency,
            causation_id=str(redemption_id),
        ),
    )
    return await _one(conn, member_id, redemption_id)


async def _issue_new(
    conn: Connection,
    reward: RewardRow,
    member_id: str,
    redemption_id: UUID,
    now: datetime,
    expires_at: datetime,
) -> tuple[int, str]:
    """A fresh code for an unlimited reward (made again in the unlikely case it exists)."""
    while True:
        code = codes.new_code()
        unit = await repository.issue_new(
            conn,
            code,
            reward_id=reward.reward_id,
            member_id=member_id,
            redemption_id=redemption_id,
            issued_at=now,
            expires_at=expires_at,
        )
        if unit is not None:
            return unit, code


async def _one(conn: Connection, member_id: str, redemption_id: UUID) -> RewardRedemption:
    row = await repository.by_id(conn, member_id, redemption_id)
    if row is None:
        raise RedemptionNotFound(f"member {member_id} has no reward redemption {redemption_id}")
    return view(row)


async def cancel(
    conn: Connection, *, member_id: str, redemption_id: UUID, actor: str, now: datetime
) -> RewardRedemption:
    """Before its coupon is used: the points go back to their lots, the code is void, and a
    generated reward's stock gets its unit back (a pool code the member has seen is never given
    again). Cancelling twice answers the same."""
    await open_account(conn, member_id, now)
    row = await repository.by_id(conn, member_id, redemption_id, lock=True)
    if row is None:
        raise RedemptionNotFound(f"member {member_id} has no reward redemption {redemption_id}")
    if row.status == "cancelled":
        return view(row)
    if row.coupon_status == "used":
        raise CouponAlreadyUsed(f"coupon used by order {row.used_order_id}")
    if row.coupon_status == "expired":
        raise CouponExpired(f"coupon expired at {row.expires_at}")
    await spending.give_back(
        conn, member_id=member_id, redemption_id=redemption_id, actor=actor, now=now
    )
    await repository.end_coupon(conn, row.coupon_id, status="void", at=now)
    if row.codes == "generated" and not row.unlimited:
        await catalogue.add_generated(conn, row.reward_id, 1)
    await repository.mark_cancelled(conn, redemption_id, actor=actor, at=now)
    await emit(
        conn,
        CouponVoidedV1(
            member_id=member_id,
            coupon_code=row.code,
            reward_id=row.reward_id,
            redemption_id=str(redemption_id),
            voided_at=now,
            causation_id=f"{redemption_id}:voided",
        ),
    )
    return await _one(conn, member_id, redemption_id)


async def get(conn: Connection, *, member_id: str, redemption_id: UUID) -> RewardRedemption:
    return await _one(conn, member_id, redemption_id)


async def history(
    conn: Connection, *, member_id: str, before: int | None, limit: int
) -> RewardRedemptionPage:
    rows = await repository.page(conn, member_id, before=before, limit=limit + 1)
    more = len(rows) > limit
    return RewardRedemptionPage(
        items=[view(r) for r, _ in rows[:limit]],
        next_cursor=str(rows[limit - 1][1]) if more else None,
    )


async def member_rewards(
    conn: Connection, *, member_id: str, program: Program, now: datetime
) -> MemberRewards:
    """What the member may redeem now (tier, dates, stock, their limit), each `affordable` or
    not with their available points."""
    rank = program.tier_rank(await _tier(conn, member_id, program))
    tiers = [tier.name for tier in program.tiers.ladder[: rank + 1]]
    await settle_if_due(conn, member_id, now)
    available = await ledger.available(conn, member_id) or 0
    rows = await repository.redeemable(conn, member_id=member_id, tiers=tiers, now=now)
    return MemberRewards(
        member_id=member_id,
        available=available,
        items=[
            MemberReward(
                reward_id=reward.reward_id,
                name=reward.name,
                points=reward.points,
                coupon=coupon_terms(
                    reward.coupon_value, reward.coupon_currency, reward.coupon_valid_days
                ),
                stock=reward.stock,
                available_until=reward.available_until,
                per_member_limit=reward.per_member_limit,
                redeemed=redeemed,
                affordable=available >= reward.points,
            )
            for reward, redeemed in rows
        ],
    )
