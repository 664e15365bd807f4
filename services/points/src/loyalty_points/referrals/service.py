"""Paying referrals: once the referred member's first purchase is available (its return window
over), the new member earns the program's `referee_points` and the referrer `referrer_points`
(none past `max_per_year` in any 365 days), each in a lot expiring like purchase points, with an
`earn` entry naming the referral and a `referral.rewarded` to tell them. A first purchase
refunded in full by then voids it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from loyalty_points.events import emit
from loyalty_points.ledger import repository as ledger
from loyalty_points.ledger.expiry import LotExpiry
from loyalty_points.ledger.settlement import settle
from loyalty_points.referrals import repository
from loyalty_points.referrals.repository import DueReferral
from loyalty_shared.db import Connection
from loyalty_shared.events.loyalty import ReferralRewardedV1
from loyalty_shared.program.schema import Program

YEAR = timedelta(days=365)
Role = Literal["referrer", "referee"]


async def pay_due(conn: Connection, program: Program, now: datetime, limit: int) -> int:
    """A batch of up to `limit` referrals due by `now`, paid or voided; returns how many."""
    referrals = await repository.due(conn, now, limit)
    members = sorted({m for r in referrals for m in (r.referee_id, r.referrer_id)})
    await ledger.lock_accounts(conn, members)
    await settle(conn, members, now)
    for referral in referrals:
        await _pay(conn, program, referral, now)
    return len(referrals)


async def _pay(conn: Connection, program: Program, referral: DueReferral, now: datetime) -> None:
    rules = program.referral
    if referral.total > 0 and referral.refunded_total >= referral.total:
        await repository.settle(
            conn,
            referral.referee_id,
            status="void",
            order_id=referral.order_id,
            referee_points=0,
            referrer_points=0,
            at=now,
        )
        return
    paid_before = await repository.paid_to(conn, referral.referrer_id, now - YEAR)
    earned = {
        referral.referee_id: rules.referee_points,
        referral.referrer_id: rules.referrer_points if paid_before < rules.max_per_year else 0,
    }
    expiry = LotExpiry.of(program)
    expires_at = expiry.expires_at(now)
    for member_id, points in earned.items():
        if not points:
            continue
        role: Role = "referee" if member_id == referral.referee_id else "referrer"
        await ledger.grant(
            conn,
            member_id=member_id,
            points=points,
            earned_at=now,
            expiry=expiry,
            origin="referral",
            actor="system:referral",
            details={
                "referral": referral.referee_id,
                "referrer": referral.referrer_id,
                "order_id": referral.order_id,
            },
        )
        await emit(
            conn,
            ReferralRewardedV1(
                member_id=member_id,
                role=role,
                referee_id=referral.referee_id,
                points=points,
                expires_at=expires_at,
                causation_id=f"referral:{referral.referee_id}:{role}",
            ),
        )
    await repository.settle(
        conn,
        referral.referee_id,
        status="paid",
        order_id=referral.order_id,
        referee_points=earned[referral.referee_id],
        referrer_points=earned[referral.referrer_id],
        at=now,
    )
