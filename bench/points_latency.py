"""Latency at a fixed offered load: from producing a purchase to its outgoing event on Kafka.

The points service (its own process: consumer, rules, ledger, outbox, relay) against the minimal
ideal consumer (bench/ideal_consumer.py, its own process, publishing straight after its commit),
each on a fresh broker and database, with the same purchases offered at the same rate. A reader
in this process notes when each `points.earned` (or the ideal consumer's event) arrives.

    .venv/bin/python -m bench.points_latency [--rate 1000] [--seconds 10] [--rounds 3]

Prints p50 / p99 / max in milliseconds of each, per round and as medians over rounds. The
broker's fetch does not wake on new data (docs/operations.md), so a fraction of the consumers'
fetch wait (20 ms) is in every figure, the ideal consumer's too; and its fetches slow down as
a partition's record batches pile up, so runs are kept short (real Kafka does neither).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.points_throughput import ALL_RULES, purchases
from loyalty_devkit.local_broker import LocalBroker, create_topics, free_port
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_POINTS

VENV_BIN = Path(sys.executable).parent
IDEAL_OUT = "bench.ideal.out"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def offer(
    bootstrap: str, messages: list[tuple[bytes, bytes]], rate: float, sent: dict[str, float]
) -> None:
    """Produce at `rate` events/s, in ticks of 10 ms, noting when each order was sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=1)
    await producer.start()
    try:
        started = time.perf_counter()
        for n, (key, value) in enumerate(messages):
            due = started + n / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            sent[orjson.loads(value)["data"]["order_id"]] = time.perf_counter()
            await producer.send(COMMERCE_PURCHASES, value=value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


class Observer:
    """Reads the outgoing topic from one consumer that joined its group before anything is
    offered, so a group join is never in a figure."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"latency-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=5,
        )

    async def start(self) -> None:
        await self._consumer.start()
        while not self._consumer.assignment():
            await self._consumer.getmany(timeout_ms=100)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def watch(self, sent: dict[str, float], expect: int, timeout_s: float) -> list[float]:
        latencies: list[float] = []
        deadline = time.monotonic() + timeout_s
        while len(latencies) < expect and time.monotonic() < deadline:
            batch = await self._consumer.getmany(timeout_ms=100)
            arrived = time.perf_counter()
            for records in batch.values():
                for record in records:
                    order = orjson.loads(record.value or b"{}").get("data", {}).get("order_id")
                    if order in sent:
                        latencies.append((arrived - sent[order]) * 1000)
        return latencies


def start(name: str, bootstrap: str, dsn: str) -> subprocess.Popen[bytes]:
    if name == "points service":
        command = [str(VENV_BIN / "loyalty-points")]
        env = {
            "LOYALTY_POINTS_DATABASE_URL": dsn,
            "LOYALTY_POINTS_PORT": str(free_port()),
            "LOYALTY_KAFKA_BOOTSTRAP": bootstrap,
            "LOYALTY_JWT_SECRET": "b" * 32,
            "LOYALTY_LOG_LEVEL": "WARNING",
            "LOYALTY_PROGRAM_FILE": str(ALL_RULES),
        }
    else:
        command = [sys.executable, "-m", "bench.ideal_consumer", "--bootstrap", bootstrap,
                   "--dsn", dsn, "--publish", IDEAL_OUT]  # fmt: skip
        env = {}
    return subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def one_round(
    name: str, postgres: LocalPostgres, rate: float, seconds: float, seed: int
) -> list[float]:
    broker = LocalBroker(free_port())
    broker.start()
    database = f"latency_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres.dsn())
    await admin.execute(f'CREATE DATABASE "{database}"')
    process = None
    try:
        await create_topics(broker.bootstrap, partitions=4)
        await create_topics(broker.bootstrap, partitions=4, topics=[IDEAL_OUT])
        process = start(name, broker.bootstrap, postgres.dsn(database))
        observer = Observer(
            broker.bootstrap, LOYALTY_POINTS if name == "points service" else IDEAL_OUT
        )
        await observer.start()
        try:
            # warm up: a first purchase through, so group joins and migrations are not measured
            warm: dict[str, float] = {}
            await offer(broker.bootstrap, purchases(1, 10, seed=seed + 1000), 1000, warm)
            await observer.watch(warm, expect=1, timeout_s=90)
            sent: dict[str, float] = {}
            messages = purchases(int(rate * seconds), 2000, seed=seed)
            watcher = asyncio.create_task(
                observer.watch(sent, len(messages), timeout_s=seconds + 60)
            )
            await offer(broker.bootstrap, messages, rate, sent)
            return await watcher
        finally:
            await observer.stop()
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=60)
        broker.stop()
        await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        await admin.close()


async def main(rate: float, seconds: float, rounds: int) -> None:
    postgres = LocalPostgres(Path(tempfile.mkdtemp(prefix="loyalty-bench-")) / "data")
    postgres.start()
    names = ["ideal consumer", "points service"]
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    try:
        for n in range(rounds):
            for name in names if n % 2 == 0 else names[::-1]:
                latencies = await one_round(name, postgres, rate, seconds, seed=n)
                expected = int(rate * seconds)
                p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
                figures[name].append((p50, p99, max(latencies)))
                print(
                    f"round {n + 1}: {name:<15} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                    f"max {max(latencies):6.1f} ms  ({len(latencies)}/{expected} seen)"
                )
    finally:
        postgres.remove()
    print()
    print(f"median over {rounds} rounds at {rate:g} purchases/s for {seconds:g} s:")
    for name in names:
        p50 = statistics.median(f[0] for f in figures[name])
        p99 = statistics.median(f[1] for f in figures[name])
        print(f"  {name:<15} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   (produce to outgoing event)")
    print(
        "reproduce: .venv/bin/python -m bench.points_latency "
        f"--rate {rate:g} --seconds {seconds:g} --rounds {rounds}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.rounds))
