"""One purchase, one trace: the shop's `traceparent` travels in the Kafka headers through the
tiers service (tier.changed), the points service (points.earned, then the tier it learns) and the
notifications service (the congratulation it sends, notification.sent), all in one process on one
broker, each service with its own tracer provider and an in-memory exporter."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from loyalty_devkit.local_broker import LocalBroker, free_port
from loyalty_notifications.app import create_app as create_notifications_app
from loyalty_notifications.settings import NotificationsSettings
from loyalty_points.app import create_app as create_points_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import (
    COMMERCE_MEMBERS,
    COMMERCE_PURCHASES,
    LOYALTY_NOTIFICATIONS,
    LOYALTY_POINTS,
    LOYALTY_TIERS,
)
from loyalty_shared.observability import tracing
from loyalty_tiers.app import create_app as create_tiers_app
from loyalty_tiers.settings import TiersSettings
from tests.support.apps import running
from tests.support.events import encode, envelope, purchase
from tests.support.kafka import CE_HEADERS, publish_events, read_all
from tests.support.tokens import SECRET
from tests.support.waiting import eventually

MEMBER = "m-trace-1"


class _Accept:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages += 1
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Accept]]:
    handler = _Accept()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    processor = SimpleSpanProcessor(spans)
    tracing.add_span_processor(processor)
    try:
        yield spans
    finally:
        tracing.remove_span_processor(processor)


@pytest.fixture
async def three_services(
    new_database: Callable[[str], str],
    broker: LocalBroker,
    smtp: tuple[int, _Accept],
    exporter: InMemorySpanExporter,
) -> AsyncIterator[None]:
    common: dict[str, Any] = {
        "kafka_bootstrap": broker.bootstrap,
        "jwt_secret": SECRET,
        "kafka_session_timeout_ms": 6000,
    }
    points = PointsSettings(points_database_url=new_database("points"), **common)
    tiers = TiersSettings(tiers_database_url=new_database("tiers"), **common)
    notifications = NotificationsSettings(
        notifications_database_url=new_database("notifications"),
        notifications_smtp_host="127.0.0.1",
        notifications_smtp_port=smtp[0],
        notifications_smtp_tls="none",  # a plain mail server on this machine
        notifications_dispatch_interval_s=0.05,
        **common,
    )
    async with (
        running(create_tiers_app(tiers)),
        running(create_points_app(points)),
        running(create_notifications_app(notifications)),
    ):
        yield


def _service(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"])


def _header(record: Any, name: str) -> str | None:
    value = dict(record.headers or ()).get(name)
    return value.decode() if value is not None else None


@pytest.mark.slow
@pytest.mark.usefixtures("three_services")
async def test_the_trace_of_one_purchase_spans_tiers_points_and_notifications(
    broker: LocalBroker, exporter: InMemorySpanExporter, smtp: tuple[int, _Accept]
) -> None:
    trace_id = secrets.token_hex(16)
    shop_span = secrets.token_hex(8)
    enrolled = envelope(
        "member.enrolled",
        {
            "member_id": MEMBER,
            "name": "Li Lei",
            "email": "li.lei@example.com",
            "locale": "en",
            "consents": {"email": True, "sms": False, "push": False},
        },
    )
    await publish_events(broker.bootstrap, COMMERCE_MEMBERS, [enrolled])
    bought = purchase(MEMBER, "5200.00", days_ago=20)  # crosses silver: tier.changed
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        headers = [*CE_HEADERS, ("traceparent", f"00-{trace_id}-{shop_span}-01".encode())]
        await producer.send_and_wait(
            COMMERCE_PURCHASES, encode(bought), key=MEMBER.encode(), headers=headers
        )
    finally:
        await producer.stop()

    # the congratulation goes out, and notification.sent says so on Kafka
    sent = await read_all(broker.bootstrap, LOYALTY_NOTIFICATIONS, expect=1, timeout_s=60)
    assert sent, "notifications sent nothing"

    def in_trace() -> list[ReadableSpan]:
        return [
            s
            for s in exporter.get_finished_spans()
            if s.context is not None and f"{s.context.trace_id:032x}" == trace_id
        ]

    async def services_in_trace() -> set[str]:
        return {_service(s) for s in in_trace()}

    await eventually(
        services_in_trace,
        lambda found: {"loyalty-tiers", "loyalty-points", "loyalty-notifications"} <= found,
        timeout_s=30,
    )

    # every event the purchase caused carries the purchase's trace on Kafka
    tier_changed = await read_all(broker.bootstrap, LOYALTY_TIERS, expect=1)
    earned = await read_all(broker.bootstrap, LOYALTY_POINTS, expect=1)
    for record in [*tier_changed, *earned, *sent]:
        traceparent = _header(record, "traceparent")
        assert traceparent is not None, record.topic
        assert traceparent.split("-")[1] == trace_id, record.topic

    spans = in_trace()
    publish = {(_service(s), s.name): s for s in spans if s.kind == SpanKind.PRODUCER}
    tiers_publish = publish[("loyalty-tiers", f"{LOYALTY_TIERS} publish")]
    points_publish = publish[("loyalty-points", f"{LOYALTY_POINTS} publish")]
    notifications_publish = publish[("loyalty-notifications", f"{LOYALTY_NOTIFICATIONS} publish")]
    assert tiers_publish.parent is not None
    assert tiers_publish.parent.span_id == int(shop_span, 16), "child of the shop's span"
    assert points_publish.parent is not None
    assert points_publish.parent.span_id == int(shop_span, 16)
    assert notifications_publish.parent is not None
    assert tiers_publish.context is not None
    assert notifications_publish.parent.span_id == tiers_publish.context.span_id, (
        "the message was caused by tier.changed: its span is a child of that publish"
    )

    # each consumer's batch span (its own trace: a batch mixes traces) links to what it read
    batches = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    linked = {
        (_service(s), link.context.span_id)
        for s in batches
        for link in s.links
        if f"{link.context.trace_id:032x}" == trace_id
    }
    assert ("loyalty-tiers", int(shop_span, 16)) in linked
    assert ("loyalty-points", int(shop_span, 16)) in linked
    assert ("loyalty-points", tiers_publish.context.span_id) in linked, "tier.changed read"
    assert ("loyalty-notifications", tiers_publish.context.span_id) in linked
    assert smtp[1].messages >= 1
