"""GET /v1/members/{member_id}/export in the points service."""

from __future__ import annotations

from loyalty_shared.privacy.export import export_router, parked, table

router = export_router(
    service="points",
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
        "parked_refund": table(
            "parked_refund",
            columns="event_id, order_id, topic, parked_at, payload AS event",
            where="message_key = convert_to($1, 'UTF8')",
            order_by="parked_at, event_id",
        ),
        "parked_record": parked("points"),
    },
)
