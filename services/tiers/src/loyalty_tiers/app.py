"""The tiers service: qualifying spend, upgrades at once, downgrades by evaluation."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from loyalty_shared.clock import Clock, system_clock
from loyalty_shared.events.commerce import (
    ErasureRequestedV1,
    PurchaseCompletedV1,
    PurchaseRefundedV1,
)
from loyalty_shared.http.state import attach_state
from loyalty_shared.kafka.routing import Route
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, COMMERCE_PURCHASES
from loyalty_shared.program.loader import load_program
from loyalty_shared.service import ServiceSpec, create_service_app
from loyalty_tiers.evaluation.jobs import EvaluationJob
from loyalty_tiers.privacy.endpoints import router as privacy_router
from loyalty_tiers.privacy.handlers import ERASURE
from loyalty_tiers.reports.endpoints import router as reports_router
from loyalty_tiers.settings import TiersSettings
from loyalty_tiers.spend.handlers import purchases_handler, refund_intake
from loyalty_tiers.state import TiersState
from loyalty_tiers.status.endpoints import router as status_router

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: TiersSettings, *, clock: Clock = system_clock) -> FastAPI:
    program = load_program(settings.program_file)
    refunds = refund_intake(program)
    spec = ServiceSpec(
        name="tiers",
        title="Loyalty tiers",
        description=(
            "Tiers: qualifying spend over a rolling window, upgrades as soon as a threshold is "
            "crossed, downgrades by a scheduled evaluation, admin overrides."
        ),
        version="0.1.0",
        clock=clock,
        migrations_dir=MIGRATIONS,
        routers=[status_router, privacy_router, reports_router],
        routes={
            COMMERCE_PURCHASES: {
                PurchaseCompletedV1.TYPE: Route(
                    PurchaseCompletedV1, purchases_handler(program, clock, refunds)
                ),
                PurchaseRefundedV1.TYPE: Route(PurchaseRefundedV1, refunds.handle),
            },
            COMMERCE_MEMBERS: {ErasureRequestedV1.TYPE: ERASURE},
        },
        loops={
            "evaluation": lambda pool: EvaluationJob(
                pool=pool,
                program=program,
                clock=clock,
                interval_s=settings.tiers_evaluation_interval_s,
            ),
            "parking": lambda pool: refunds.sweeper(
                pool, max_age=settings.parked_refund_max_age, clock=clock
            ),
        },
    )
    app = create_service_app(spec, settings)
    attach_state(app, TiersState(program=program, clock=clock))
    return app
