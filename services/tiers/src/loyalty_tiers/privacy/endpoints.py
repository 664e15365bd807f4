"""GET /v1/members/{member_id}/export in the tiers service."""

from __future__ import annotations

from loyalty_shared.privacy.export import export_router, parked, table

router = export_router(
    service="tiers",
    sections={
        "member_tier": table("member_tier", order_by="member_id"),
        "tier_history": table("tier_history", order_by="id"),
        "spend_day": table("spend_day", order_by="day"),
        "order_day": table("order_day", order_by="day, order_id"),
        "refund": table(
            "refund",
            where="order_id IN (SELECT order_id FROM order_day WHERE member_id = $1)",
            order_by="refunded_at, refund_id",
        ),
        "imported_member": table("imported_member", order_by="imported_at, source"),
        "parked_record": parked("tiers"),
    },
)
