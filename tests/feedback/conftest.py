"""The feedback service in-process, and helpers to feed its handlers directly with a chosen
time (fast, no broker round trip) and to run its jobs with an injected clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_feedback.app import create_app as create_feedback_app
from loyalty_feedback.invitations.jobs import send_invitations
from loyalty_feedback.purchases.handlers import REFUNDS, purchases_handler
from loyalty_feedback.settings import FeedbackSettings
from loyalty_feedback.state import FeedbackState
from loyalty_shared.events.commerce import PurchaseCompletedV1, PurchaseRefundedV1
from loyalty_shared.events.decoding import Decoded, RawRecord
from loyalty_shared.events.envelope import CloudEvent
from loyalty_shared.http.state import state_of
from loyalty_shared.kafka.routing import Refusal
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.program.schema import Program
from loyalty_shared.runtime import runtime_of
from tests.support.apps import client_of, on_test_broker, running
from tests.support.events import encode, envelope, purchase_data
from tests.support.kafka import CE_HEADERS

#: Jobs run when a test calls them, with the time it chooses, never by themselves.
NEVER_S = 86_400.0


@pytest.fixture
def feedback_settings(new_database: Callable[[str], str], broker: LocalBroker) -> FeedbackSettings:
    return FeedbackSettings(
        feedback_database_url=new_database("feedback"),
        **on_test_broker(broker),
        feedback_jobs_interval_s=NEVER_S,
        feedback_insight_interval_s=NEVER_S,
    )


@pytest.fixture
async def feedback_app(feedback_settings: FeedbackSettings) -> AsyncIterator[FastAPI]:
    """The feedback service running in-process: API, consumer, relay (jobs held back)."""
    async with running(create_feedback_app(feedback_settings)) as app:
        yield app


@pytest.fixture
async def feedback_api(feedback_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(feedback_app) as client:
        yield client


class Service:
    """The running service's pool, program and key, and its handlers and jobs to call."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.pool: asyncpg.Pool = runtime_of(app).pool
        state = state_of(app, FeedbackState)
        self.program: Program = state.program
        self.key: bytes = state.survey_key

    async def purchases(self, *events: Decoded[PurchaseCompletedV1]) -> Sequence[Refusal]:
        async with self.pool.acquire() as conn, conn.transaction():
            return await purchases_handler(self.program)(conn, list(events))

    async def refunds(self, *events: Decoded[PurchaseRefundedV1]) -> Sequence[Refusal]:
        """Returns what the handler refused (the runner would dead-letter it)."""
        async with self.pool.acquire() as conn, conn.transaction():
            return await REFUNDS.handle(conn, list(events))

    async def send(self, now: datetime) -> int:
        return await send_invitations(self.pool, self.program, self.key, now)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(query, *args)
            return rows

    async def count(self, table: str) -> int:
        async with self.pool.acquire() as conn:
            value: int = await conn.fetchval(f"SELECT count(*) FROM {table}")
            return value


@pytest.fixture
def feedback(feedback_app: FastAPI) -> Service:
    return Service(feedback_app)


def bought(
    member_id: str,
    at: datetime,
    *,
    order_id: str | None = None,
    total: str = "399.00",
    channel: str = "online",
) -> Decoded[PurchaseCompletedV1]:
    """A decoded `purchase.completed` whose `time` is `at`."""
    data = purchase_data(member_id, order_id=order_id, total=total, channel=channel)
    event = envelope("purchase.completed", data, time=at)
    return Decoded(CloudEvent.model_validate(event), PurchaseCompletedV1.model_validate(data))


def refunded(
    member_id: str,
    order_id: str,
    amount: str,
    at: datetime,
    *,
    refund_id: str | None = None,
    currency: str = "CNY",
) -> Decoded[PurchaseRefundedV1]:
    """A decoded `purchase.refunded` whose `time` is `at`, with the record it was read from (a
    refund whose order is not known yet is kept as read)."""
    data = {
        "order_id": order_id,
        "refund_id": refund_id or f"r-{uuid.uuid4().hex[:10]}",
        "member_id": member_id,
        "currency": currency,
        "amount": amount,
    }
    event = envelope("purchase.refunded", data, time=at)
    raw = RawRecord(COMMERCE_PURCHASES, member_id.encode(), encode(event), tuple(CE_HEADERS))
    return Decoded(
        CloudEvent.model_validate(event), PurchaseRefundedV1.model_validate(data), raw=raw
    )


def money(value: Any) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def first_sampled(prefix: str, rate: float, *, skip: Sequence[str] = ()) -> str:
    """An order id (`prefix-N`) that the survey sampling picks."""
    from loyalty_feedback.invitations.sampling import sampled

    n = 0
    while not sampled(f"{prefix}-{n}", rate) or f"{prefix}-{n}" in skip:
        n += 1
    return f"{prefix}-{n}"
