"""SIGTERM mid-stream (what Kubernetes sends when it stops a pod): the service finishes the batch
in hand, commits it to PostgreSQL and its offsets to Kafka, and exits 0 well within the pod's
grace period. A new process in the same group starts exactly where the first one stopped: it
re-applies nothing (no duplicate in its inbox counts), dead-letters nothing, and every purchase
is credited once."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest

from loyalty_devkit.local_broker import LocalBroker, free_port
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from tests.conftest import PARTITIONS
from tests.deploy.conftest import generate
from tests.support.events import encode, purchase
from tests.support.kafka import committed_offsets, publish, read_all
from tests.support.processes import ServiceProcess, count_in
from tests.support.waiting import eventually

PURCHASES = 6000
#: What the pod allows from SIGTERM to SIGKILL (the preStop sleep comes before the signal).
GRACE_S = generate.GRACE_PERIOD_S - generate.PRESTOP_SLEEP_S


async def _committed(bootstrap: str) -> int:
    """Records the points service's group has committed on commerce.purchases, all partitions."""
    return sum(
        (
            await committed_offsets(bootstrap, "loyalty-points", COMMERCE_PURCHASES, PARTITIONS)
        ).values()
    )


def _duplicates(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("loyalty_events_total{") and 'outcome="duplicate"' in line
    )


@pytest.mark.slow
async def test_sigterm_mid_stream_drains_commits_and_exits_0_within_the_grace_period(
    points_settings: PointsSettings, broker: LocalBroker, tmp_path: Path
) -> None:
    dsn = points_settings.database_url
    env = {
        "LOYALTY_POINTS_DATABASE_URL": dsn,
        "LOYALTY_KAFKA_BOOTSTRAP": broker.bootstrap,
        "LOYALTY_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "LOYALTY_KAFKA_MAX_BATCH": "100",
    }
    first = ServiceProcess("points", port=free_port(), env=env, log=tmp_path / "first.log")
    first.start()
    await asyncio.to_thread(first.wait_ready)

    run = uuid.uuid4().hex[:6]
    messages = []
    for n in range(PURCHASES):
        member = f"m-{run}-{n % 200:03d}"
        messages.append((member.encode(), encode(purchase(member, "100.00", days_ago=20))))
    await publish(broker.bootstrap, COMMERCE_PURCHASES, messages)

    await eventually(
        lambda: count_in(dsn, "SELECT count(*) FROM purchase"), lambda n: n >= 100, interval_s=0.01
    )
    signalled = time.monotonic()
    status = await asyncio.to_thread(first.terminate, GRACE_S)
    took = time.monotonic() - signalled
    applied = await count_in(dsn, "SELECT count(*) FROM purchase")

    assert status == 0, first.log.read_text()[-3000:]
    assert took < GRACE_S, f"drained in {took:.1f}s, the pod allows {GRACE_S}s"
    log = first.log.read_text()
    assert "service stopped" in log
    assert "did not drain in time" not in log
    assert applied < PURCHASES, "the stream should still be in flight when SIGTERM lands"
    assert await _committed(broker.bootstrap) == applied, (
        "every applied record's offset committed, and no offset past what was applied"
    )

    second = ServiceProcess("points", port=free_port(), env=env, log=tmp_path / "second.log")
    second.start()
    await asyncio.to_thread(second.wait_ready)
    await eventually(
        lambda: count_in(dsn, "SELECT count(*) FROM purchase"),
        lambda n: n == PURCHASES,
        timeout_s=120,
        interval_s=0.2,
    )
    assert await asyncio.to_thread(_duplicates, second.port) == 0, "nothing was applied twice"
    assert await count_in(dsn, "SELECT count(*) FROM ledger_entry WHERE kind = 'earn'") == PURCHASES
    assert await count_in(dsn, "SELECT sum(available) FROM points_account") == 100 * PURCHASES
    assert (
        await read_all(broker.bootstrap, f"{COMMERCE_PURCHASES}.dlq", expect=1, timeout_s=3) == []
    )
    assert await asyncio.to_thread(second.terminate, GRACE_S) == 0
