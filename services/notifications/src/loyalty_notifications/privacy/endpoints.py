"""GET /v1/members/{member_id}/export in the notifications service."""

from __future__ import annotations

from loyalty_shared.privacy.export import export_router, table

router = export_router(
    service="notifications",
    sections={
        "member_contact": table("member_contact", order_by="member_id"),
        "member_preference": table("member_preference", order_by="member_id"),
        "member_activity": table("member_activity", order_by="member_id"),
        "notification": table("notification", order_by="seq"),
        "birthday_gift": table("birthday_gift", order_by="year"),
        "imported_contact": table("imported_contact", order_by="imported_at, source"),
    },
)
