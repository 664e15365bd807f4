"""The notifications service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.events.commerce import MEMBER_ENROLLED, MEMBER_UPDATED, MemberProfileV1
from loyalty_shared.events.loyalty import PointsEarnedV1, TierChangedV1
from loyalty_shared.kafka.intake import record_only
from loyalty_shared.kafka.routing import Route
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, LOYALTY_POINTS, LOYALTY_TIERS
from loyalty_shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotificationsSettings) -> FastAPI:
    spec = ServiceSpec(
        name="notifications",
        title="Loyalty notifications",
        description=(
            "Notifications: messages to members over email, push, SMS and webhooks. "
            "This build validates and records its input events; messages land next."
        ),
        version="0.1.0",
        migrations_dir=MIGRATIONS,
        routes={
            COMMERCE_MEMBERS: {
                MEMBER_ENROLLED: Route(MemberProfileV1, record_only),
                MEMBER_UPDATED: Route(MemberProfileV1, record_only),
            },
            LOYALTY_POINTS: {PointsEarnedV1.TYPE: Route(PointsEarnedV1, record_only)},
            LOYALTY_TIERS: {TierChangedV1.TYPE: Route(TierChangedV1, record_only)},
        },
    )
    return create_service_app(spec, settings)
