"""Purchase throughput: the points service and the tiers service against a minimal ideal
consumer, side by side on the same broker build and PostgreSQL, each on a fresh broker and a
fresh database, over the same purchases.

The ideal consumer does the least any correct consumer must: read the batch, insert one row per
event with one set-based statement, commit, commit offsets. The points service does everything
the product needs (validation, inbox, every bonus rule of bench/all_rules.toml, ledger, lot,
balance, outbox, relay to Kafka); the tiers service takes the upgrade path (daily spend buckets,
rolling-window spend, upgrades with `tier.changed` through the outbox).

    .venv/bin/python -m bench.points_throughput [--events 20000] [--members 2000] [--rounds 3]

Prints the median events/s of each, their ratio to the ideal, and where the CPU went per event
(this process, which runs the consumer under test; PostgreSQL; the broker). Time runs from the
first applied batch to the last event, so consumer-group joins (the same for all) are not
counted, nor are the first batch's events.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import orjson
import uvloop
from aiokafka import AIOKafkaProducer
from asgi_lifespan import LifespanManager
from prometheus_client import REGISTRY

from bench.cpu import CpuMeter, CpuPerEvent, Servers
from bench.ideal_consumer import consume
from loyalty_devkit.local_broker import LocalBroker, create_topics, free_port
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.events.envelope import cloud_event
from loyalty_shared.gc_tuning import tune_garbage_collector
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.runtime import runtime_of
from loyalty_tiers.app import create_app as create_tiers_app
from loyalty_tiers.settings import TiersSettings

PARTITIONS = 4
ALL_RULES = Path(__file__).with_name("all_rules.toml")
CATEGORIES = ("electronics", "beauty", "apparel", "grocery")
CHANNELS = ("online", "store", "app")


def purchases(count: int, members: int, seed: int) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = []
    for n in range(count):
        member = f"m-{rng.randrange(members):05d}"
        total = f"{rng.randrange(100, 300_000) / 100:.2f}"
        at = now - timedelta(days=rng.choice([0, 30]))
        data = {
            "order_id": f"o-{seed}-{n}",
            "member_id": member,
            "channel": rng.choice(CHANNELS),
            "currency": "CNY",
            "total": total,
            "items": [
                {
                    "sku": "s1",
                    "category": rng.choice(CATEGORIES),
                    "quantity": 1,
                    "unit_price": total,
                },
                {
                    "sku": "s2",
                    "category": rng.choice(CATEGORIES),
                    "quantity": 2,
                    "unit_price": "10.00",
                },
            ],
        }
        event = cloud_event("purchase.completed", data, source="bench", subject=member, time=at)
        out.append((member.encode(), orjson.dumps(event)))
    return out


async def produce(bootstrap: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=20)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send(COMMERCE_PURCHASES, value=value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def applied_counter(service: str) -> Callable[[], Awaitable[int]]:
    """Events the in-process service has applied, from its own metric: polling the database
    with count(*) would load the very server being measured. The final figure is checked
    against the database once the clock has stopped."""
    labels = {
        "service": service,
        "topic": COMMERCE_PURCHASES,
        "type": "purchase.completed",
        "outcome": "applied",
    }
    start = REGISTRY.get_sample_value("loyalty_events_total", labels) or 0

    async def count() -> int:
        return int((REGISTRY.get_sample_value("loyalty_events_total", labels) or 0) - start)

    return count


@dataclass(frozen=True)
class Window:
    """From the first applied batch to the last event: how many events were applied in it (the
    first batch's are not: its time is not in the window), how long it took, the CPU per event."""

    events: int
    seconds: float
    cpu: CpuPerEvent

    @property
    def rate(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class Round:
    """What a contender is given: a fresh broker and database, holding `total` purchases."""

    bootstrap: str
    dsn: str
    total: int
    servers: Servers


async def time_until(count: Callable[[], Awaitable[int]], run: Round, timeout_s: float) -> Window:
    total = run.total
    deadline = time.monotonic() + timeout_s
    while (first := await count()) == 0:
        if time.monotonic() > deadline:
            raise TimeoutError("nothing was applied")
        await asyncio.sleep(0.005)
    if first == total:
        raise ValueError(f"the first batch applied all {total} events: give --events more")
    started, meter = time.perf_counter(), CpuMeter(run.servers)
    while (done := await count()) < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done} of {total} applied")
        await asyncio.sleep(0.01)
    return Window(total - first, time.perf_counter() - started, meter.per_event(total - first))


async def ideal_consumer(run: Round) -> Window:
    applied = 0

    def until(done: int) -> bool:
        nonlocal applied
        applied = done
        return done >= run.total

    async def count() -> int:
        return applied

    task = asyncio.create_task(consume(run.bootstrap, run.dsn, until=until))
    try:
        return await time_until(count, run, timeout_s=600)
    finally:
        await task


async def points_service(run: Round) -> Window:
    settings = PointsSettings(
        points_database_url=run.dsn,
        kafka_bootstrap=run.bootstrap,
        jwt_secret="b" * 32,
        log_level="WARNING",
        program_file=ALL_RULES,
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        window = await time_until(applied_counter("points"), run, timeout_s=600)
        await asyncio.sleep(0.5)  # the last batch's commit
        credited = await runtime_of(app).pool.fetchval("SELECT count(*) FROM purchase")
        assert credited == run.total, f"{credited} of {run.total} purchases credited"
        return window


async def tiers_service(run: Round) -> Window:
    settings = TiersSettings(
        tiers_database_url=run.dsn,
        kafka_bootstrap=run.bootstrap,
        jwt_secret="b" * 32,
        log_level="WARNING",
        program_file=ALL_RULES,
    )
    app = create_tiers_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        pool = runtime_of(app).pool
        window = await time_until(applied_counter("tiers"), run, timeout_s=600)
        await asyncio.sleep(0.5)  # the last batch's commit
        applied = await pool.fetchval("SELECT count(*) FROM processed_event")
        assert applied == run.total, f"{applied} of {run.total} purchases applied"
        upgrades = await pool.fetchval("SELECT count(*) FROM tier_history") or 0
        print(f"  (tiers: {upgrades:,} upgrades, each a tier.changed through the outbox)")
        return window


async def one_round(
    name: str,
    contender: Callable[[Round], Awaitable[Window]],
    postgres: LocalPostgres,
    messages: list[tuple[bytes, bytes]],
) -> Window:
    broker = LocalBroker(free_port())
    broker.start()
    database = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres.dsn())
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        await create_topics(
            broker.bootstrap,
            partitions=PARTITIONS,
            topics=[
                COMMERCE_PURCHASES,
                "loyalty.points",
                "loyalty.tiers",
                f"{COMMERCE_PURCHASES}.dlq",
            ],
        )
        await produce(broker.bootstrap, messages)
        assert broker.pid is not None
        servers = Servers(postgres=postgres.postmaster_pid(), broker=broker.pid)
        return await contender(
            Round(broker.bootstrap, postgres.dsn(database), len(messages), servers)
        )
    finally:
        broker.stop()
        await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        await admin.close()


async def main(events: int, members: int, rounds: int) -> None:
    postgres = LocalPostgres(Path(tempfile.mkdtemp(prefix="loyalty-bench-")) / "data")
    postgres.start()
    contenders: list[tuple[str, Callable[[Round], Awaitable[Window]]]] = [
        ("ideal consumer", ideal_consumer),
        ("points service", points_service),
        ("tiers service", tiers_service),
    ]
    results: dict[str, list[Window]] = {name: [] for name, _ in contenders}
    try:
        for n in range(rounds):
            messages = purchases(events, members, seed=n)
            # rotate the order so none always runs on a warmer machine
            order = contenders[n % 3 :] + contenders[: n % 3]
            for name, run in order:
                window = await one_round(name.split()[0], run, postgres, messages)
                results[name].append(window)
                print(f"round {n + 1}: {name:<15} {window.rate:>9,.0f} events/s   {window.cpu}")
    finally:
        postgres.remove()
    ideal = statistics.median(w.rate for w in results["ideal consumer"])
    print()
    print(
        f"median over {rounds} rounds of {events:,} purchases, {members:,} members, "
        f"{PARTITIONS} partitions:"
    )
    for name, _ in contenders:
        windows = results[name]
        rate = statistics.median(w.rate for w in windows)
        cpu = CpuPerEvent.median_of([w.cpu for w in windows])
        print(f"  {name:<15} {rate:>9,.0f} events/s   ({rate / ideal:.2f} of ideal)   {cpu}")
    print(
        "reproduce: .venv/bin/python -m bench.points_throughput "
        f"--events {events} --members {members} --rounds {rounds}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # uvloop and the garbage collector's settings, as the services run in production
    # (loyalty_shared.service.serve): the contenders here all run in this process's loop.
    tune_garbage_collector()
    uvloop.run(main(args.events, args.members, args.rounds))
    sys.exit(0)
