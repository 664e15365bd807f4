"""Killed mid-stream and restarted: every balance exact, nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from loyalty_devkit.local_broker import LocalBroker, free_port
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_POINTS
from tests.support.events import encode, purchase
from tests.support.kafka import publish, read_events
from tests.support.processes import ServiceProcess, count_in
from tests.support.waiting import eventually

PURCHASES = 2000
MEMBERS = 150


@pytest.mark.slow
async def test_the_points_service_killed_mid_stream_loses_and_doubles_nothing(
    points_settings: PointsSettings, broker: LocalBroker, tmp_path: Path
) -> None:
    rng = random.Random(20261111)
    dsn = points_settings.database_url
    service = ServiceProcess(
        "points",
        port=free_port(),
        env={
            "LOYALTY_POINTS_DATABASE_URL": dsn,
            "LOYALTY_KAFKA_BOOTSTRAP": broker.bootstrap,
            "LOYALTY_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "LOYALTY_KAFKA_MAX_BATCH": "100",
        },
        log=tmp_path / "points.log",
    )
    service.start()
    await asyncio.to_thread(service.wait_ready)

    expected: dict[str, dict[str, int]] = defaultdict(lambda: {"available": 0, "pending": 0})
    messages = []
    earning_purchases = set()  # totals under 1 CNY earn nothing and emit no points.earned
    for _ in range(PURCHASES):
        member = f"m-{rng.randrange(MEMBERS):04d}"
        total = Decimal(rng.randrange(0, 500_000)) / 100
        days_ago = rng.choice([0, 3, 20, 100])
        event = purchase(member, f"{total:.2f}", days_ago=days_ago)
        if total >= 1:
            earning_purchases.add(event["id"])
        expected[member]["available" if days_ago > 14 else "pending"] += int(total)
        messages.append((member.encode(), encode(event)))
    await publish(broker.bootstrap, COMMERCE_PURCHASES, messages)

    # SIGKILL once a few hundred purchases are in: mid-batch, mid-relay, whatever it was doing.
    # Watched over one open connection: opening one per look was slow enough on a busy machine
    # for the whole stream to be credited between two looks.
    watcher = await asyncpg.connect(dsn)
    try:
        await eventually(
            lambda: watcher.fetchval("SELECT count(*) FROM purchase"),
            lambda n: n >= 300,
            interval_s=0.005,
        )
        service.kill()
    finally:
        await watcher.close()
    killed_at = await count_in(dsn, "SELECT count(*) FROM purchase")
    assert killed_at < PURCHASES, "the stream should still be in flight when the kill lands"

    service.start()
    await eventually(
        lambda: count_in(dsn, "SELECT count(*) FROM purchase"),
        lambda n: n == PURCHASES,
        timeout_s=120,
        interval_s=0.2,
    )

    conn = await asyncpg.connect(dsn)
    try:
        accounts = {
            r["member_id"]: {"available": r["available"], "pending": r["pending"]}
            for r in await conn.fetch("SELECT member_id, available, pending FROM points_account")
        }
        ledger = {
            r["member_id"]: {"available": r["a"], "pending": r["p"]}
            for r in await conn.fetch(
                "SELECT member_id, sum(available_delta) a, sum(pending_delta) p "
                "FROM ledger_entry GROUP BY member_id"
            )
        }
        entries = await conn.fetchval("SELECT count(*) FROM ledger_entry WHERE kind = 'earn'")
    finally:
        await conn.close()
    with_points = {m: b for m, b in expected.items() if b["available"] or b["pending"]}
    assert accounts == with_points
    assert ledger == with_points, "every balance is the sum of its ledger"
    assert entries == len(earning_purchases)

    # the relay: every points.earned reached Kafka at least once, and ids make duplicates obvious
    events = await read_events(broker.bootstrap, LOYALTY_POINTS, expect=entries, timeout_s=60)
    assert {event["data"]["causation_id"] for event in events} == earning_purchases
    assert len({event["id"] for event in events}) == entries, (
        "a republished event keeps its id, so consumers dedupe it"
    )

    # uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit
    assert await asyncio.to_thread(service.terminate) in (0, -15)
    assert "service stopped" in service.log.read_text()
