"""The feedback service: NPS/CSAT surveys after purchases, service recovery for detractors,
NPS reporting, and behavioural loyalty (RFM segments, CLV, the loyalty index)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from loyalty_feedback.answers.endpoints import router as answers_router
from loyalty_feedback.cases.endpoints import router as cases_router
from loyalty_feedback.insight.endpoints import router as insight_router
from loyalty_feedback.insight.jobs import InsightJob
from loyalty_feedback.invitations.jobs import SurveyInvitationJob
from loyalty_feedback.privacy.endpoints import router as privacy_router
from loyalty_feedback.privacy.handlers import ERASURE
from loyalty_feedback.purchases.handlers import REFUNDS, purchases_handler
from loyalty_feedback.reporting.endpoints import router as reporting_router
from loyalty_feedback.settings import FeedbackSettings
from loyalty_feedback.state import FeedbackState
from loyalty_feedback.tier_projection.handlers import on_tier_changes
from loyalty_shared.clock import Clock, system_clock
from loyalty_shared.events.commerce import (
    ErasureRequestedV1,
    PurchaseCompletedV1,
    PurchaseRefundedV1,
)
from loyalty_shared.events.loyalty import TierChangedV1
from loyalty_shared.http.state import attach_state
from loyalty_shared.kafka.routing import Route
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, COMMERCE_PURCHASES, LOYALTY_TIERS
from loyalty_shared.program.loader import load_program
from loyalty_shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: FeedbackSettings, *, clock: Clock = system_clock) -> FastAPI:
    program = load_program(settings.program_file)
    key = settings.survey_key()
    spec = ServiceSpec(
        name="feedback",
        title="Loyalty feedback",
        description=(
            "Feedback: NPS and CSAT surveys sent after purchases (sampled, delayed, at most one "
            "per member per cooldown), answers through the app or a signed survey link, service "
            "recovery for detractors (an alert and goodwill points), NPS reports, and "
            "behavioural loyalty: RFM segments, historic CLV and a loyalty index."
        ),
        version="0.1.0",
        clock=clock,
        migrations_dir=MIGRATIONS,
        routers=[answers_router, reporting_router, cases_router, insight_router, privacy_router],
        routes={
            COMMERCE_PURCHASES: {
                PurchaseCompletedV1.TYPE: Route(PurchaseCompletedV1, purchases_handler(program)),
                PurchaseRefundedV1.TYPE: Route(PurchaseRefundedV1, REFUNDS.handle),
            },
            LOYALTY_TIERS: {TierChangedV1.TYPE: Route(TierChangedV1, on_tier_changes)},
            COMMERCE_MEMBERS: {ErasureRequestedV1.TYPE: ERASURE},
        },
        loops={
            "surveys": lambda pool: SurveyInvitationJob(
                pool=pool,
                program=program,
                key=key,
                clock=clock,
                interval_s=settings.feedback_jobs_interval_s,
            ),
            "insight": lambda pool: InsightJob(
                pool=pool,
                program=program,
                clock=clock,
                interval_s=settings.feedback_insight_interval_s,
            ),
            "parking": lambda pool: REFUNDS.sweeper(
                pool, max_age=settings.parked_refund_max_age, clock=clock
            ),
        },
    )
    app = create_service_app(spec, settings)
    if settings.feedback_cors_origins:
        # The survey page posts its answer from the shop's origin: JSON, no credentials, no
        # bearer token (a preflight asking for Authorization is refused).
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.feedback_cors_origins,
            allow_methods=["POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        )
    attach_state(app, FeedbackState(program=program, survey_key=key, clock=clock))
    return app
