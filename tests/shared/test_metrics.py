"""What `/metrics` says about a running service: HTTP requests by route template and status
(rate, errors, duration), how long an event took from Kafka to the commit that applied it, how
far behind the consumer is, and the outbox's backlog and the age of its oldest row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.db.migrations import migrate
from loyalty_shared.db.pool import create_pool
from loyalty_shared.db.relay import OutboxRelay
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.observability.metrics import DEAD_LETTERS
from loyalty_shared.settings import ServiceSettings
from tests.support.events import purchase
from tests.support.kafka import publish, publish_events
from tests.support.tokens import SECRET, bearer
from tests.support.waiting import eventually


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_http_requests_are_counted_by_route_template_and_status(
    tiers_api: httpx.AsyncClient,
) -> None:
    route = "/v1/members/{member_id}/tier"
    ok = {"service": "tiers", "method": "GET", "route": route, "status": "200"}
    denied = {**ok, "status": "401"}
    unmatched = {**ok, "route": "unmatched", "status": "404"}
    before = {
        k: sample("loyalty_http_requests_total", **v)
        for k, v in {"ok": ok, "denied": denied, "unmatched": unmatched}.items()
    }
    timed = sample(
        "loyalty_http_request_duration_seconds_count", service="tiers", method="GET", route=route
    )

    for member in ("m-1", "m-2"):
        response = await tiers_api.get(f"/v1/members/{member}/tier", headers=bearer(member))
        assert response.status_code == 200
    assert (await tiers_api.get("/v1/members/m-3/tier")).status_code == 401
    assert (await tiers_api.get("/no/such/path/m-4")).status_code == 404

    assert sample("loyalty_http_requests_total", **ok) == before["ok"] + 2
    assert sample("loyalty_http_requests_total", **denied) == before["denied"] + 1
    assert sample("loyalty_http_requests_total", **unmatched) == before["unmatched"] + 1
    assert (
        sample(
            "loyalty_http_request_duration_seconds_count",
            service="tiers",
            method="GET",
            route=route,
        )
        == timed + 3
    )
    text = (await tiers_api.get("/metrics")).text
    assert "m-1" not in text, "never a raw path (a member id) as a label value"


async def test_processing_latency_and_lag_are_measured_per_event_after_the_commit(
    tiers_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    labels = {"service": "tiers", "topic": COMMERCE_PURCHASES, "type": "purchase.completed"}
    before = sample("loyalty_event_processing_seconds_count", **labels)
    # a purchase reported 20 days late still measures the time since it reached Kafka
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [purchase(f"m-{n}", "10.00", days_ago=20) for n in range(5)],
    )
    await publish(broker.bootstrap, COMMERCE_PURCHASES, [(b"m-x", b"not json")])
    await eventually(
        lambda: _async(sample("loyalty_event_processing_seconds_count", **labels)),
        lambda n: n >= before + 5,
    )
    within_a_minute = sample("loyalty_event_processing_seconds_bucket", **labels, le="60.0")
    assert within_a_minute >= before + 5
    invalid = {**labels, "type": "?"}
    await eventually(
        lambda: _async(sample("loyalty_event_processing_seconds_count", **invalid)),
        lambda n: n >= 1,
    )

    text = (await tiers_api.get("/metrics")).text
    lags = [
        line
        for line in text.splitlines()
        if line.startswith("loyalty_consumer_lag_records{") and 'service="tiers"' in line
    ]
    assert lags, "a lag per partition the consumer applied records of"
    assert all(float(line.rsplit(" ", 1)[1]) >= 0 for line in lags)


async def _async(value: float) -> float:
    return value


async def test_the_relay_reports_the_outbox_backlog_and_the_age_of_its_oldest_row(
    new_database: Callable[[str], str], tmp_path: Path
) -> None:
    dsn = new_database("relay")
    (tmp_path / "migrations").mkdir()
    await migrate(dsn, tmp_path / "migrations")
    pool = await create_pool(dsn, ServiceSettings(jwt_secret=SECRET))
    # a producer never started: the gauges only read the outbox (any replica reports the same)
    idle = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9")
    try:
        relay = OutboxRelay(service="gauges-test", pool=pool, producer=idle)
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO outbox (topic, payload, created_at) "
                "SELECT 'loyalty.points', 'x', now() - interval '90 seconds' "
                "FROM generate_series(1, 3)"
            )
        await relay.refresh_gauges()
        assert sample("loyalty_outbox_backlog", service="gauges-test") == 3
        assert sample("loyalty_outbox_oldest_age_seconds", service="gauges-test") >= 90
        async with pool.acquire() as conn:
            await conn.execute("DELETE FROM outbox")
        await relay.refresh_gauges()
        assert sample("loyalty_outbox_backlog", service="gauges-test") == 0
        assert sample("loyalty_outbox_oldest_age_seconds", service="gauges-test") == 0
    finally:
        await idle.stop()
        await pool.close()


def test_dead_letters_are_counted_by_topic_and_reason() -> None:
    """The counter the DLQ alerts use (tests/points/test_dead_letters.py shows it moving)."""
    (family,) = DEAD_LETTERS.describe()
    assert family.name == "loyalty_dead_letters"
