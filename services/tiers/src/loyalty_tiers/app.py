"""The tiers service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from loyalty_shared.events.commerce import PurchaseCompletedV1, PurchaseRefundedV1
from loyalty_shared.kafka.intake import record_only
from loyalty_shared.kafka.routing import Route
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.service import ServiceSpec, create_service_app
from loyalty_tiers.settings import TiersSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: TiersSettings) -> FastAPI:
    spec = ServiceSpec(
        name="tiers",
        title="Loyalty tiers",
        description=(
            "Tiers: qualifying spend over a rolling window, upgrades and downgrades. "
            "This build validates and records its input events; tier rules land next."
        ),
        version="0.1.0",
        migrations_dir=MIGRATIONS,
        routes={
            COMMERCE_PURCHASES: {
                PurchaseCompletedV1.TYPE: Route(PurchaseCompletedV1, record_only),
                PurchaseRefundedV1.TYPE: Route(PurchaseRefundedV1, record_only),
            },
        },
    )
    return create_service_app(spec, settings)
