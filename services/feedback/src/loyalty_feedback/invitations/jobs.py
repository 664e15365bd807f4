"""The scheduled sender of survey invitations (`feedback.requested`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from loyalty_feedback.events import emit
from loyalty_feedback.invitations import repository, tokens
from loyalty_feedback.metrics import INVITATIONS
from loyalty_shared.background import PeriodicJob
from loyalty_shared.clock import Clock
from loyalty_shared.events.loyalty import FeedbackRequestedV1
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.program.schema import Program

log = get_logger(__name__)

BATCH = 1000


async def send_invitations(pool: asyncpg.Pool, program: Program, key: bytes, now: datetime) -> int:
    """Send every due invitation, batch by batch (one transaction each); returns how many."""
    settings = program.feedback
    cooldown = timedelta(days=settings.cooldown_days)
    validity = timedelta(days=settings.survey_validity_days)
    sent_total = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            sent, skipped = await repository.send_due(
                conn, now=now, cooldown=cooldown, validity=validity, limit=BATCH
            )
            await emit(
                conn,
                *(
                    FeedbackRequestedV1(
                        member_id=invitation.member_id,
                        invitation_id=str(invitation.invitation_id),
                        order_id=invitation.order_id,
                        channel=invitation.channel,
                        purchased_at=invitation.purchased_at,
                        survey_token=tokens.issue(
                            key,
                            member_id=invitation.member_id,
                            invitation_id=invitation.invitation_id,
                            order_id=invitation.order_id,
                            issued_at=invitation.sent_at,
                            expires_at=invitation.expires_at,
                        ),
                        expires_at=invitation.expires_at,
                        causation_id=f"invitation:{invitation.invitation_id}",
                    )
                    for invitation in sent
                ),
            )
        if sent:
            INVITATIONS.labels("sent").inc(len(sent))
        for reason in skipped:
            INVITATIONS.labels(reason).inc()
        sent_total += len(sent)
        if not sent and not skipped:
            return sent_total


class SurveyInvitationJob(PeriodicJob):
    failure = "survey invitations failed"

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        program: Program,
        key: bytes,
        clock: Clock,
        interval_s: float,
    ) -> None:
        super().__init__(name="feedback-surveys", interval_s=interval_s)
        self._pool = pool
        self._program = program
        self._key = key
        self._clock = clock

    async def run_once(self) -> None:
        sent = await send_invitations(self._pool, self._program, self._key, self._clock())
        if sent:
            log.info("survey invitations sent", invitations=sent)
