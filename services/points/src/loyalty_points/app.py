"""The points service: the ledger of every member's points."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from loyalty_points.balances.endpoints import router as balances_router
from loyalty_points.earning.handlers import purchase_completed_handler
from loyalty_points.settings import PointsSettings
from loyalty_points.tier_projection.handlers import tier_changed_handler
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.loyalty import TierChangedV1
from loyalty_shared.kafka.routing import Route
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_TIERS
from loyalty_shared.program.loader import load_program
from loyalty_shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: PointsSettings) -> FastAPI:
    program = load_program(settings.program_file)
    spec = ServiceSpec(
        name="points",
        title="Loyalty points",
        description="The points ledger: earning, balances and (soon) redemptions.",
        version="0.1.0",
        migrations_dir=MIGRATIONS,
        routers=[balances_router],
        routes={
            COMMERCE_PURCHASES: {
                PurchaseCompletedV1.TYPE: Route(
                    PurchaseCompletedV1, purchase_completed_handler(program)
                ),
            },
            LOYALTY_TIERS: {
                TierChangedV1.TYPE: Route(TierChangedV1, tier_changed_handler(program)),
            },
        },
    )
    return create_service_app(spec, settings)
