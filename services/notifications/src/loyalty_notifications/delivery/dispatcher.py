"""The dispatcher: claims due notifications, sends them, records each outcome; a send interrupted
by a crash is sent once more at most (README.md#notifications, "Delivery")."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from jinja2 import TemplateError
from prometheus_client import Counter

from loyalty_notifications import events
from loyalty_notifications.channels.base import (
    Channel,
    DeliveryFailure,
    Message,
    PermanentFailure,
    TransientFailure,
)
from loyalty_notifications.delivery import repository
from loyalty_notifications.delivery.policy import backoff, decide
from loyalty_notifications.delivery.repository import Notification
from loyalty_notifications.delivery.sent_outcomes import SentOutcomes
from loyalty_notifications.members import repository as members
from loyalty_notifications.members.recipient import Recipient
from loyalty_notifications.rendering.renderer import Renderer
from loyalty_notifications.settings import NotificationsSettings
from loyalty_notifications.triggers.payloads import STAFF_TRIGGERS
from loyalty_shared.background import BackgroundLoop
from loyalty_shared.clock import Clock
from loyalty_shared.db.errors import is_transient
from loyalty_shared.observability.logging import get_logger

log = get_logger(__name__)

OUTCOMES = Counter(
    "loyalty_notification_attempts_total",
    "Send attempts by trigger, channel and outcome (sent, transient_failure, permanent_failure)",
    ["trigger", "channel", "outcome"],
)
DECISIONS = Counter(
    "loyalty_notification_decisions_total",
    "Due notifications by what the dispatcher decided (sending, scheduled, suppressed)",
    ["trigger", "status"],
)

#: Language of messages to customer service.
STAFF_LANGUAGE = "zh-CN"


@dataclass(frozen=True, slots=True)
class Attempt:
    row: Notification
    number: int
    recipient: Recipient


class Dispatcher(BackgroundLoop):
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        settings: NotificationsSettings,
        channels: dict[str, Channel],
        renderer: Renderer,
        clock: Clock,
    ) -> None:
        super().__init__(name="notifications-dispatcher", stop_timeout_s=20)
        self._pool = pool
        self._settings = settings
        self._channels = channels
        self._renderer = renderer
        self._clock = clock
        self._round = settings.notifications_dispatch_concurrency
        self._sent = SentOutcomes(pool, clock)

    async def stop(self) -> None:
        await super().stop()
        for channel in {id(c): c for c in self._channels.values()}.values():
            await channel.close()

    async def _run(self) -> None:
        # Sends run as tasks, at most `concurrency` at a time, and a new claim fills every slot
        # that frees up: one slow peer (a webhook taking its whole send timeout) holds its own
        # slot, never the messages claimed after it.
        sending: set[asyncio.Task[None]] = set()
        failures = 0
        try:
            while not self._stopping.is_set():
                free = self._round - len(sending)
                if free <= 0:
                    await asyncio.wait(
                        sending,
                        timeout=self._settings.notifications_dispatch_interval_s,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    continue
                try:
                    claimed, attempts = await self._claim(free)
                    failures = 0
                except Exception as exc:
                    if not is_transient(exc):
                        log.exception("dispatch round failed", error=repr(exc))
                    failures += 1
                    if await self._stop_within(min(10.0, 0.2 * 2**failures)):
                        return
                    continue
                for attempt in attempts:
                    task = asyncio.create_task(self._attempt_logged(attempt))
                    sending.add(task)
                    task.add_done_callback(sending.discard)
                if claimed < free and await self._stop_within(
                    self._settings.notifications_dispatch_interval_s
                ):
                    return
        finally:
            # stopping: the sends under way finish (bounded by the send timeout)
            await asyncio.gather(*sending, return_exceptions=True)

    async def _attempt_logged(self, attempt: Attempt) -> None:
        try:
            await self._attempt(attempt)
        except Exception as exc:  # noqa: BLE001 - a task's error has nobody else to go to
            # the outcome could not be recorded (database away): the lease runs out and the
            # row is claimed again as in doubt, as after a crash
            log.warning(
                "send outcome not recorded", notification_id=str(attempt.row.id), error=repr(exc)
            )

    async def _claim(self, limit: int) -> tuple[int, list[Attempt]]:
        s = self._settings
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            abandoned = await repository.give_up_in_doubt(conn, now, limit)
            if abandoned:
                await events.emit(
                    conn, [events.failed(r, "delivery-unknown", now) for r in abandoned]
                )
            rows = await repository.claim_due(conn, now, limit)
            if not rows:
                return 0, []
            who = await members.recipients(
                conn,
                [r.member_id for r in rows],
                default_time_zone=s.notifications_default_time_zone,
            )
            decisions = [
                decide(
                    r,
                    who[r.member_id],
                    now=now,
                    channels=set(self._channels),
                    enrolment_wait=timedelta(days=s.notifications_enrolment_wait_days),
                )
                for r in rows
            ]
            numbers = await repository.decide(
                conn,
                ids=[r.id for r in rows],
                statuses=[d.status for d in decisions],
                reasons=[d.reason for d in decisions],
                due_ats=[d.due_at for d in decisions],
                now=now,
                lease_until=now + timedelta(seconds=s.notifications_send_lease_s),
            )
        for r, d in zip(rows, decisions, strict=True):
            DECISIONS.labels(r.trigger, d.status).inc()
        return len(rows), [
            Attempt(r, numbers[r.id], who[r.member_id])
            for r, d in zip(rows, decisions, strict=True)
            if d.status == "sending"
        ]

    def _message(self, attempt: Attempt) -> Message:
        row, recipient = attempt.row, attempt.recipient
        staff = row.trigger in STAFF_TRIGGERS
        language = STAFF_LANGUAGE if staff else recipient.language
        time_zone = self._settings.notifications_default_time_zone if staff else recipient.time_zone
        payload: dict[str, Any] = dict(row.payload)
        rendered = self._renderer.render(
            row.trigger,
            language=language,
            time_zone=time_zone,
            name=recipient.name,
            payload=payload,
        )
        return Message(
            notification_id=str(row.id),
            member_id=row.member_id,
            trigger=row.trigger,
            channel=row.channel,
            to=None if staff else recipient.address(row.channel),
            subject=rendered.subject,
            body=rendered.body,
            language=language,
            data=payload,
        )

    async def _attempt(self, attempt: Attempt) -> None:
        row = attempt.row
        outcome: DeliveryFailure | None = None
        try:
            message = self._message(attempt)
        except (TemplateError, KeyError, ValueError) as exc:
            message, outcome = None, PermanentFailure(f"template-error: {exc}")
        try:
            if message is not None:
                async with asyncio.timeout(self._settings.notifications_send_timeout_s):
                    await self._channels[row.channel].send(message)
        except DeliveryFailure as failure:
            outcome = failure
        except TimeoutError:
            outcome = TransientFailure("timeout: no answer within the send timeout")
        except Exception as exc:  # a channel bug must not kill the loop
            log.exception("send failed unexpectedly", notification_id=str(row.id))
            outcome = TransientFailure(f"{type(exc).__name__}: {exc}")
        OUTCOMES.labels(
            row.trigger,
            row.channel,
            "sent"
            if outcome is None
            else "permanent_failure"
            if isinstance(outcome, PermanentFailure)
            else "transient_failure",
        ).inc()
        await self._record(attempt, outcome)

    async def _record(self, attempt: Attempt, outcome: DeliveryFailure | None) -> None:
        s = self._settings
        row, number = attempt.row, attempt.number
        if outcome is None:
            await self._sent.record(row, number)
            log.info(
                "notification sent",
                notification_id=str(row.id),
                member_id=row.member_id,
                trigger=row.trigger,
                channel=row.channel,
            )
            return
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            permanent = isinstance(outcome, PermanentFailure)
            if not permanent and number < s.notifications_max_attempts:
                due = now + backoff(
                    number, base_s=s.notifications_retry_base_s, max_s=s.notifications_retry_max_s
                )
                await repository.mark_retry(
                    conn, row.id, number, f"retrying: {outcome.reason}", due, now
                )
                log.info(
                    "notification will be retried",
                    notification_id=str(row.id),
                    reason=outcome.reason,
                    attempt=number,
                )
                return
            reason = (
                outcome.reason
                if permanent
                else f"gave up after {number} attempts: {outcome.reason}"
            )
            if await repository.mark_failed(conn, row.id, number, reason, now):
                await events.emit(conn, [events.failed(row, reason, now)])
            log.warning("notification failed", notification_id=str(row.id), reason=reason)
