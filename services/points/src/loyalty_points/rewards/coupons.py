"""A coupon's life after its redemption: used by the first purchase that names it (`coupon.used`),
or, unused, a reminder before it expires (`coupon.expiring`) and then its expiry
(`coupon.expired`, its points back if the program says so)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from loyalty_points.events import emit, emit_caused
from loyalty_points.ledger.settlement import open_account
from loyalty_points.rewards import repository, spending
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.loyalty import CouponExpiredV1, CouponExpiringV1, CouponUsedV1
from loyalty_shared.program.schema import Rewards


async def use_coupons(conn: Connection, purchases: Sequence[Decoded[PurchaseCompletedV1]]) -> None:
    """The coupons the credited purchases name, used once each, by the first; one statement for
    the batch, none when no purchase names a coupon."""
    codes, orders, times, causes = [], [], [], []
    for event in purchases:
        purchase = event.data
        for code in purchase.coupons or ():
            codes.append(code)
            orders.append(purchase.order_id)
            times.append(event.envelope.time)
            causes.append(event.envelope.id)
    if not codes:
        return
    used = await repository.use(conn, codes=codes, order_ids=orders, times=times, event_ids=causes)
    await emit_caused(
        conn,
        [
            (
                CouponUsedV1(
                    member_id=u.member_id,
                    coupon_code=u.code,
                    reward_id=u.reward_id,
                    redemption_id=str(u.redemption_id),
                    order_id=u.order_id,
                    used_at=u.used_at,
                    causation_id=u.event_id,
                ),
                f"{u.event_id}:{u.code}",
            )
            for u in used
        ],
    )


async def remind(conn: Connection, now: datetime, rules: Rewards, limit: int) -> int:
    """`coupon.expiring` once per unused coupon, `coupon_reminder_days` before it expires."""
    rows = await repository.remind(
        conn, now=now, horizon=now + timedelta(days=rules.coupon_reminder_days), limit=limit
    )
    await emit(
        conn,
        *(
            CouponExpiringV1(
                member_id=r.member_id,
                coupon_code=r.code,
                reward_id=r.reward_id,
                redemption_id=str(r.redemption_id),
                expires_at=r.expires_at,
                reward_name=r.name,
                coupon_value=r.coupon_value,
                coupon_currency=r.coupon_currency,
                causation_id=f"coupon:{r.id}:expiring",
            )
            for r in rows
        ),
    )
    return len(rows)


async def expire(conn: Connection, now: datetime, rules: Rewards, limit: int) -> int:
    """Unused coupons whose validity ended: expired, with their points back when the program
    says so. Each member's account is locked before their coupon (the one lock order), members
    in id order."""
    due = await repository.unused_until(conn, now=now, limit=limit)
    for member_id, redemption_id in sorted(due):
        await open_account(conn, member_id, now)
        row = await repository.by_id(conn, member_id, redemption_id, lock=True)
        if row is None or row.coupon_status != "issued" or row.expires_at > now:
            continue  # used, cancelled or expired meanwhile
        returned = 0
        if rules.return_points_on_coupon_expiry:
            await spending.give_back(
                conn,
                member_id=member_id,
                redemption_id=redemption_id,
                actor="system:coupon-expiry",
                now=now,
            )
            returned = row.points
        await repository.end_coupon(conn, row.coupon_id, status="expired", at=row.expires_at)
        await emit(
            conn,
            CouponExpiredV1(
                member_id=member_id,
                coupon_code=row.code,
                reward_id=row.reward_id,
                redemption_id=str(redemption_id),
                expired_at=row.expires_at,
                points_returned=returned,
                causation_id=f"coupon:{row.coupon_id}:expired",
            ),
        )
    return len(due)
