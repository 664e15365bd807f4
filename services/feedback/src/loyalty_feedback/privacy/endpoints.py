"""GET /v1/members/{member_id}/export in the feedback service."""

from __future__ import annotations

from loyalty_shared.privacy.export import export_router, parked, table

router = export_router(
    service="feedback",
    sections={
        "purchase": table("purchase", order_by="purchased_at, order_id"),
        "refund": table("refund", order_by="refunded_at, refund_id"),
        "member_tier": table("member_tier", order_by="member_id"),
        "invitation": table("invitation", order_by="due_at, invitation_id"),
        "member_survey": table("member_survey", order_by="member_id"),
        "feedback": table("feedback", order_by="answered_at, feedback_id"),
        "goodwill_grant": table("goodwill_grant", order_by="granted_at, feedback_id"),
        "member_insight": table("member_insight", order_by="member_id"),
        "parked_record": parked("feedback"),
    },
)
