"""GET /v1/members/{member_id}/export in the points service."""

from __future__ import annotations

from fastapi import APIRouter

from loyalty_points.ledger.settlement import settle_if_due
from loyalty_shared.clock import Clock
from loyalty_shared.db import Connection
from loyalty_shared.privacy.export import export_router, parked, table


def export(clock: Clock) -> APIRouter:
    async def settled(conn: Connection, member_id: str) -> None:
        await settle_if_due(conn, member_id, clock())

    return export_router(
        service="points",
        clock=clock,
        before=settled,
        sections={
            "points_account": table("points_account", order_by="member_id"),
            "ledger_entry": table("ledger_entry", order_by="id"),
            "points_lot": table("points_lot", order_by="id"),
            "purchase": table("purchase", order_by="purchased_at, order_id"),
            "refund": table("refund", order_by="refunded_at, refund_id"),
            "redemption": table("redemption", order_by="created_at, id"),
            "points_hold": table("points_hold", order_by="created_at, id"),
            "spend_refusal": table("spend_refusal", order_by="refused_at, kind, idempotency_key"),
            "member_tier": table("member_tier", order_by="member_id"),
            "reward_redemption": table("reward_redemption", order_by="seq"),
            "coupon": table("coupon", order_by="id"),
            "member_action": table("member_action", order_by="occurred_at, action_id"),
            "referral": table(
                "referral", where="$1 IN (referee_id, referrer_id)", order_by="referred_at"
            ),
            "member_birthday": table("member_birthday", order_by="member_id"),
            "birthday_bonus": table("birthday_bonus", order_by="year"),
            "opening_balance": table("opening_balance", order_by="imported_at, source, row_key"),
            "member_flag": table("member_flag", order_by="id"),
            "flag_review": table("flag_review", order_by="id"),
            "parked_record": parked("points"),
        },
    )
