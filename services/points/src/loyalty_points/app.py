"""The points service: the ledger of every member's points."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from loyalty_points.abuse.endpoints import router as reviews_router
from loyalty_points.actions.handlers import member_action_handler
from loyalty_points.activity.endpoints import router as activity_router
from loyalty_points.adjustments.endpoints import router as adjustments_router
from loyalty_points.backtest.endpoints import router as backtest_router
from loyalty_points.balances.endpoints import hot_read as balance_read
from loyalty_points.balances.endpoints import router as balances_router
from loyalty_points.birthdays.handlers import profile_handler
from loyalty_points.campaigns.endpoints import router as campaigns_router
from loyalty_points.campaigns.in_force import ProgramInForce
from loyalty_points.earning.handlers import purchase_completed_handler
from loyalty_points.goodwill.handlers import goodwill_granted_handler
from loyalty_points.holds.endpoints import router as holds_router
from loyalty_points.lifecycle.jobs import LifecycleJob
from loyalty_points.lots.endpoints import router as lots_router
from loyalty_points.privacy.endpoints import export
from loyalty_points.privacy.handlers import ERASURE
from loyalty_points.redemptions.endpoints import router as redemptions_router
from loyalty_points.referrals.handlers import on_enrolments
from loyalty_points.refunds.handlers import refund_intake
from loyalty_points.reports.endpoints import router as reports_router
from loyalty_points.reports.jobs import FinanceGauges
from loyalty_points.rewards.endpoints import rewards_router
from loyalty_points.rewards.jobs import CouponJob
from loyalty_points.settings import PointsSettings
from loyalty_points.simulation.endpoints import router as simulation_router
from loyalty_points.state import PointsState
from loyalty_points.tier_projection.handlers import tier_changed_handler
from loyalty_points.transactions.endpoints import router as transactions_router
from loyalty_shared.clock import Clock, system_clock
from loyalty_shared.events.commerce import (
    MEMBER_ENROLLED,
    MEMBER_UPDATED,
    EnrolmentV1,
    ErasureRequestedV1,
    MemberActionV1,
    MemberBirthdayV1,
    PurchaseCompletedV1,
    PurchaseRefundedV1,
)
from loyalty_shared.events.loyalty import GoodwillGrantedV1, TierChangedV1
from loyalty_shared.http.state import attach_state
from loyalty_shared.kafka.routing import Route
from loyalty_shared.kafka.topics import (
    COMMERCE_MEMBERS,
    COMMERCE_PURCHASES,
    LOYALTY_FEEDBACK,
    LOYALTY_TIERS,
)
from loyalty_shared.program.loader import load_program
from loyalty_shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: PointsSettings, *, clock: Clock = system_clock) -> FastAPI:
    program = load_program(settings.program_file)
    in_force = ProgramInForce(program)
    refunds = refund_intake(program.earning.refund_policy, clock, program=program)
    spec = ServiceSpec(
        name="points",
        title="Loyalty points",
        description=(
            "The points ledger: earning, refunds, redemptions, adjustments, balances and "
            "the ledger itself; the rewards catalogue and members' coupons; the program, its "
            "campaigns, backtests and the liability report."
        ),
        version="0.1.0",
        clock=clock,
        migrations_dir=MIGRATIONS,
        routers=[
            balances_router,
            transactions_router,
            redemptions_router,
            holds_router,
            adjustments_router,
            simulation_router,
            export(clock),
            rewards_router(program, clock),
            backtest_router,
            campaigns_router,
            reports_router,
            lots_router,
            activity_router,
            reviews_router,
        ],
        hot_reads=[balance_read(clock)],
        loops={
            "lifecycle": lambda pool: LifecycleJob(
                pool=pool, program=program, clock=clock, interval_s=settings.points_jobs_interval_s
            ),
            # refunds parked while their purchase was being credited: applied; refunds whose
            # purchase never came: dead-lettered as unknown-order after the wait
            "parking": lambda pool: refunds.sweeper(
                pool,
                max_age=timedelta(days=settings.points_parked_refund_max_age_days),
                clock=clock,
            ),
            "coupons": lambda pool: CouponJob(
                pool=pool,
                interval_s=settings.points_jobs_interval_s,
                rules=program.rewards,
                clock=clock,
            ),
            "finance": lambda pool: FinanceGauges(
                pool=pool,
                program=program,
                clock=clock,
                interval_s=settings.points_finance_interval_s,
            ),
        },
        routes={
            COMMERCE_PURCHASES: {
                PurchaseCompletedV1.TYPE: Route(
                    PurchaseCompletedV1,
                    purchase_completed_handler(program, clock, refunds=refunds, in_force=in_force),
                ),
                PurchaseRefundedV1.TYPE: Route(PurchaseRefundedV1, refunds.handle),
            },
            LOYALTY_TIERS: {
                TierChangedV1.TYPE: Route(TierChangedV1, tier_changed_handler(program)),
            },
            LOYALTY_FEEDBACK: {
                GoodwillGrantedV1.TYPE: Route(
                    GoodwillGrantedV1, goodwill_granted_handler(program, clock)
                ),
            },
            COMMERCE_MEMBERS: {
                ErasureRequestedV1.TYPE: ERASURE,
                MemberActionV1.TYPE: Route(MemberActionV1, member_action_handler(program, clock)),
                MEMBER_ENROLLED: Route(EnrolmentV1, profile_handler(clock, then=on_enrolments)),
                MEMBER_UPDATED: Route(MemberBirthdayV1, profile_handler(clock)),
            },
        },
    )
    app = create_service_app(spec, settings)
    attach_state(
        app,
        PointsState(
            program=program,
            clock=clock,
            in_force=in_force,
            backtest_timeout_s=settings.points_backtest_timeout_s,
        ),
    )
    return app
