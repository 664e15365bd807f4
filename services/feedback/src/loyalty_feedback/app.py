"""The feedback service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from loyalty_feedback.settings import FeedbackSettings
from loyalty_shared.events.commerce import PurchaseCompletedV1, PurchaseRefundedV1
from loyalty_shared.events.loyalty import TierChangedV1
from loyalty_shared.kafka.intake import record_only
from loyalty_shared.kafka.routing import Route
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_TIERS
from loyalty_shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: FeedbackSettings) -> FastAPI:
    spec = ServiceSpec(
        name="feedback",
        title="Loyalty feedback",
        description=(
            "Feedback: NPS and CSAT surveys, service recovery and loyalty insight. "
            "This build validates and records its input events; surveys land next."
        ),
        version="0.1.0",
        migrations_dir=MIGRATIONS,
        routes={
            COMMERCE_PURCHASES: {
                PurchaseCompletedV1.TYPE: Route(PurchaseCompletedV1, record_only),
                PurchaseRefundedV1.TYPE: Route(PurchaseRefundedV1, record_only),
            },
            LOYALTY_TIERS: {TierChangedV1.TYPE: Route(TierChangedV1, record_only)},
        },
    )
    return create_service_app(spec, settings)
