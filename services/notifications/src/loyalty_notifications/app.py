"""The notifications service: the right message to the right member at the right moment."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from loyalty_notifications.channels.registry import build_channels, configured_channels
from loyalty_notifications.delivery.dispatcher import Dispatcher
from loyalty_notifications.history.endpoints import router as history_router
from loyalty_notifications.members.endpoints import router as preferences_router
from loyalty_notifications.members.handlers import profiles_handler
from loyalty_notifications.privacy.endpoints import router as privacy_router
from loyalty_notifications.privacy.handlers import erasure
from loyalty_notifications.privacy.jobs import MessageRetention
from loyalty_notifications.rendering.renderer import TEMPLATES, Renderer
from loyalty_notifications.settings import NotificationsSettings
from loyalty_notifications.state import NotificationsState
from loyalty_notifications.triggers import handlers
from loyalty_notifications.triggers.jobs import ScheduledTriggersJob
from loyalty_notifications.triggers.planner import Planner
from loyalty_shared.clock import Clock, system_clock
from loyalty_shared.events.commerce import (
    MEMBER_ENROLLED,
    MEMBER_UPDATED,
    ErasureRequestedV1,
    MemberProfileV1,
    PurchaseCompletedV1,
)
from loyalty_shared.events.loyalty import (
    ActionRewardedV1,
    BirthdayRewardedV1,
    CouponExpiringV1,
    CouponUsedV1,
    CouponVoidedV1,
    FeedbackReceivedV1,
    FeedbackRequestedV1,
    PointsEarnedV1,
    PointsExpiringV1,
    ReferralRewardedV1,
    RewardRedeemedV1,
    TierChangedV1,
    TierDowngradeWarningV1,
)
from loyalty_shared.http.state import attach_state
from loyalty_shared.kafka.routing import Route
from loyalty_shared.kafka.topics import (
    COMMERCE_MEMBERS,
    COMMERCE_PURCHASES,
    LOYALTY_FEEDBACK,
    LOYALTY_POINTS,
    LOYALTY_TIERS,
)
from loyalty_shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotificationsSettings, *, clock: Clock = system_clock) -> FastAPI:
    """Raises `TemplateProblem` if any template is missing or does not render."""
    renderer = Renderer(settings.notifications_templates_dir or TEMPLATES)
    renderer.check_all()
    planner = Planner(settings, configured_channels(settings))
    spec = ServiceSpec(
        name="notifications",
        title="Loyalty notifications",
        description=(
            "Notifications: messages to members over email, SMS, push, and alerts to customer "
            "service over a signed webhook, from tier, points, rewards, feedback and purchase "
            "events and "
            "from schedules (birthday, win-back); member preferences and message history."
        ),
        version="0.1.0",
        clock=clock,
        migrations_dir=MIGRATIONS,
        routers=[preferences_router, history_router, privacy_router],
        routes={
            COMMERCE_MEMBERS: {
                MEMBER_ENROLLED: Route(MemberProfileV1, profiles_handler(clock)),
                MEMBER_UPDATED: Route(MemberProfileV1, profiles_handler(clock)),
                ErasureRequestedV1.TYPE: erasure(clock),
            },
            COMMERCE_PURCHASES: {
                PurchaseCompletedV1.TYPE: Route(PurchaseCompletedV1, handlers.on_purchases),
            },
            LOYALTY_POINTS: {
                PointsEarnedV1.TYPE: Route(
                    PointsEarnedV1, handlers.points_earned_handler(planner, clock)
                ),
                PointsExpiringV1.TYPE: Route(
                    PointsExpiringV1, handlers.points_expiring_handler(planner, clock)
                ),
                ActionRewardedV1.TYPE: Route(
                    ActionRewardedV1, handlers.action_rewarded_handler(planner, clock)
                ),
                ReferralRewardedV1.TYPE: Route(
                    ReferralRewardedV1, handlers.referral_rewarded_handler(planner, clock)
                ),
                RewardRedeemedV1.TYPE: Route(
                    RewardRedeemedV1, handlers.reward_redeemed_handler(planner, clock)
                ),
                CouponExpiringV1.TYPE: Route(
                    CouponExpiringV1, handlers.coupon_expiring_handler(planner, clock)
                ),
                BirthdayRewardedV1.TYPE: Route(BirthdayRewardedV1, handlers.on_birthday_rewards),
                CouponUsedV1.TYPE: Route(CouponUsedV1, handlers.coupon_settled_handler(clock)),
                CouponVoidedV1.TYPE: Route(CouponVoidedV1, handlers.coupon_settled_handler(clock)),
            },
            LOYALTY_TIERS: {
                TierChangedV1.TYPE: Route(
                    TierChangedV1, handlers.tier_changed_handler(planner, clock)
                ),
                TierDowngradeWarningV1.TYPE: Route(
                    TierDowngradeWarningV1, handlers.downgrade_warning_handler(planner, clock)
                ),
            },
            LOYALTY_FEEDBACK: {
                FeedbackRequestedV1.TYPE: Route(
                    FeedbackRequestedV1, handlers.feedback_requested_handler(planner, clock)
                ),
                FeedbackReceivedV1.TYPE: Route(
                    FeedbackReceivedV1, handlers.feedback_received_handler(planner, clock)
                ),
            },
        },
        loops={
            "dispatcher": lambda pool: Dispatcher(
                pool=pool,
                settings=settings,
                channels=build_channels(settings),
                renderer=renderer,
                clock=clock,
            ),
            "schedules": lambda pool: ScheduledTriggersJob(
                pool=pool,
                planner=planner,
                clock=clock,
                interval_s=settings.notifications_schedule_interval_s,
            ),
            "message-retention": lambda pool: MessageRetention(
                pool=pool,
                clock=clock,
                days=settings.notifications_message_retention_days,
                interval_s=settings.notifications_retention_interval_s,
            ),
        },
    )
    app = create_service_app(spec, settings)
    attach_state(
        app,
        NotificationsState(settings=settings, planner=planner, renderer=renderer, clock=clock),
    )
    return app
