"""The broker goes away and comes back (contract section 3): the points API keeps answering,
taking admin adjustments and redemptions, the pods stay ready (readiness reports the broker as
unreachable, it does not take a pod out of the Service), the outbox keeps every event written
during the outage, all of them are published once a broker is back, and consumption resumes.

The local broker (tansu) keeps everything in memory, so "back" is a new, empty broker on the same
port: the test creates the topics again, as an operator would after losing a Kafka cluster's
data. Against a real cluster the topics (and the consumer group's offsets) would still be there.
The paused broker (SIGSTOP: connections hang rather than being refused) keeps its data, so
there the consumer simply catches up.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker, create_topics
from loyalty_shared.db.relay import RELAY_LOCK_KEY
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_POINTS
from loyalty_shared.runtime import runtime_of
from tests.conftest import PARTITIONS
from tests.security.endpoints import endpoints_of
from tests.support.apps import client_of
from tests.support.events import purchase
from tests.support.kafka import event_of, publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

MEMBER = "m-b001"
ADMIN = bearer("ops-1", admin=True)


async def _balance(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.get(f"/v1/members/{MEMBER}/points", headers=bearer(MEMBER))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _outbox(dsn: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT topic, payload FROM outbox ORDER BY id")
    finally:
        await conn.close()
    return [{"topic": r["topic"], **orjson.loads(r["payload"])} for r in rows]


async def _redeem(api: httpx.AsyncClient, points: int) -> dict[str, Any]:
    response = await api.post(
        f"/v1/members/{MEMBER}/redemptions",
        json={"points": points},
        headers={**bearer(MEMBER), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _ready_without_the_broker(api: httpx.AsyncClient) -> None:
    """/readyz stays 200 (the database is what readiness needs) and says the broker is away."""
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["broker"].startswith("unreachable"), body
    assert body["checks"]["database"] == "ok"


async def _read_back(bootstrap: str, topic: str, *, expect: int) -> list[dict[str, Any]]:
    """Every record of `topic`, read by partition (no consumer group: the restarted broker's
    group coordinator is not what this test is about)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    events: list[dict[str, Any]] = []
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + 30
        while len(events) < expect and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                events += [event_of(r) for r in records]
    finally:
        await consumer.stop()
    return events


async def test_with_the_broker_down_reads_and_writes_go_on_ready_and_the_outbox_delivers_after(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    dsn = runtime_of(points_app).settings.database_url
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase(MEMBER, "300.00", days_ago=30)]
    )
    await eventually(lambda: _balance(points_api), lambda b: b["available"] == 300)
    await eventually(lambda: _outbox(dsn), lambda rows: rows == [])  # points.earned is out

    broker.stop()

    # reads answer at once, from the database
    started = time.monotonic()
    assert (await _balance(points_api))["available"] == 300
    transactions = await points_api.get(
        f"/v1/members/{MEMBER}/points/transactions", headers=bearer(MEMBER)
    )
    assert transactions.status_code == 200
    assert time.monotonic() - started < 5
    # the pod stays in the Service; readiness tells the operator what is wrong
    await _ready_without_the_broker(points_api)

    # admin adjustments and redemptions are taken: the ledger changes now, the events wait in
    # the outbox
    for points in (10, 20, -5):
        response = await points_api.post(
            f"/v1/members/{MEMBER}/adjustments",
            json={"points": points, "reason": "made during a broker outage"},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.text
    await _redeem(points_api, 25)
    assert (await _balance(points_api))["available"] == 300
    await asyncio.sleep(3)  # the relay has tried, and failed, to publish meanwhile
    held = await _outbox(dsn)
    assert [(r["topic"], r["type"], r["data"]["points"]) for r in held] == [
        (LOYALTY_POINTS, "points.adjusted", 10),
        (LOYALTY_POINTS, "points.adjusted", 20),
        (LOYALTY_POINTS, "points.adjusted", -5),
        (LOYALTY_POINTS, "points.redeemed", 25),
    ]

    # A broker is back on the same address: empty (tansu is memory only), so the topics are
    # created again first. Meanwhile the test holds the relay's lock (as a second relay would):
    # records tansu took before its topics were recreated did not all survive the recreation,
    # an artefact of a memory-only broker that a real cluster, whose topics outlive an outage,
    # does not have.
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", RELAY_LOCK_KEY)
        broker.start()
        await create_topics(broker.bootstrap, partitions=PARTITIONS)
        await conn.execute("SELECT pg_advisory_unlock($1)", RELAY_LOCK_KEY)
    finally:
        await conn.close()

    await eventually(lambda: _outbox(dsn), lambda rows: rows == [], timeout_s=60)
    events = await _read_back(broker.bootstrap, LOYALTY_POINTS, expect=len(held))
    # every one, in the order they were made (a send the producer still had queued from
    # before the restart may have gone out too: the same event, the same id, a duplicate
    # consumers drop)
    firsts = list(dict.fromkeys(e["id"] for e in events))
    assert firsts == [r["id"] for r in held]
    await eventually(
        lambda: points_api.get("/readyz"), lambda r: r.status_code == 200, timeout_s=30
    )

    # and the consumer takes purchases from the new broker again
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase(MEMBER, "75.00", days_ago=30)]
    )
    await eventually(lambda: _balance(points_api), lambda b: b["available"] == 375, timeout_s=30)


async def test_with_the_broker_paused_the_pod_stays_ready_and_catches_up_after(
    points_app: FastAPI, points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    """A broker that hangs (SIGSTOP) rather than refusing: the same, and it keeps its data."""
    dsn = runtime_of(points_app).settings.database_url
    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase(MEMBER, "300.00", days_ago=30)]
    )
    await eventually(lambda: _balance(points_api), lambda b: b["available"] == 300)
    await eventually(lambda: _outbox(dsn), lambda rows: rows == [])

    broker.pause()
    try:
        await _ready_without_the_broker(points_api)
        assert (await _balance(points_api))["available"] == 300
        redemption = await _redeem(points_api, 40)
        assert (await _balance(points_api))["available"] == 260
        await asyncio.sleep(2)  # the relay tries, and waits
        held = await _outbox(dsn)
        assert [(r["type"], r["data"]["points"]) for r in held] == [("points.redeemed", 40)]
        await _ready_without_the_broker(points_api)
    finally:
        broker.resume()

    await eventually(lambda: _outbox(dsn), lambda rows: rows == [], timeout_s=60)
    events = await _read_back(broker.bootstrap, LOYALTY_POINTS, expect=2)
    redeemed = [e for e in events if e["type"] == "points.redeemed"]
    assert {e["id"] for e in redeemed} == {held[0]["id"]}
    assert redeemed[0]["data"]["points"] == 40
    assert redemption["points"] == 40
    await eventually(
        lambda: points_api.get("/readyz"),
        lambda r: r.status_code == 200 and r.json()["checks"]["broker"] == "ok",
        timeout_s=30,
    )

    await publish_events(
        broker.bootstrap, COMMERCE_PURCHASES, [purchase(MEMBER, "75.00", days_ago=30)]
    )
    await eventually(lambda: _balance(points_api), lambda b: b["available"] == 335, timeout_s=60)


async def test_every_service_answers_every_read_with_the_broker_down(
    points_app: FastAPI,
    tiers_app: FastAPI,
    notifications_app: FastAPI,
    feedback_app: FastAPI,
    broker: LocalBroker,
) -> None:
    """Every GET of every service (from its OpenAPI) answers from the database at once (within
    5 s, allowing for a busy machine) while the broker is away; every /readyz stays 200 and
    says the broker is unreachable."""
    apps = {
        "points": points_app,
        "tiers": tiers_app,
        "notifications": notifications_app,
        "feedback": feedback_app,
    }
    broker.stop()
    wrong = []
    for name, app in apps.items():
        async with client_of(app) as api:
            ready = await api.get("/readyz")
            broker_check = ready.json()["checks"]["broker"]
            if ready.status_code != 200 or not broker_check.startswith("unreachable"):
                wrong.append(f"{name} /readyz: {ready.status_code} {ready.text[:200]}")
            for endpoint in endpoints_of(app):
                if endpoint.method != "GET" or endpoint.path in ("/readyz",):
                    continue
                started = time.monotonic()
                response = await api.get(endpoint.url(), headers=ADMIN)
                took = time.monotonic() - started
                if response.status_code >= 500 or took > 5:
                    wrong.append(f"{name} {endpoint}: {response.status_code} in {took:.1f}s")
    assert wrong == [], "\n".join(wrong)
