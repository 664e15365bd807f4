"""`loyalty dlq replay`: dead letters go back to the topic they came from with their key, value
and headers minus `error.*`, filtered by reason and service, from the group's committed offsets or
from offsets given, committing as it goes; `--dry-run` only lists. A purchase dead-lettered during
an incident is credited once replayed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from tests.points.test_crediting_purchases import balance_of
from tests.support.events import encode, purchase
from tests.support.kafka import CE_HEADERS, read_all, read_events
from tests.support.waiting import eventually

DLQ = f"{COMMERCE_PURCHASES}.dlq"


def _errors(code: str, service: str) -> list[tuple[str, bytes]]:
    return [
        ("error.code", code.encode()),
        ("error.detail", b"what went wrong"),
        ("error.service", service.encode()),
        ("error.topic", COMMERCE_PURCHASES.encode()),
        ("error.partition", b"0"),
        ("error.offset", b"41"),
    ]


def _replay(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("loyalty")), "dlq", "replay", COMMERCE_PURCHASES]
    env = {**os.environ, "LOYALTY_KAFKA_BOOTSTRAP": bootstrap, "COLUMNS": "200"}
    return subprocess.run(
        [*command, *args, "--idle-s", "2"], env=env, capture_output=True, text=True, timeout=120
    )


async def test_dead_letters_are_replayed_by_reason_and_resume_where_they_stopped(
    broker: LocalBroker, points_api: httpx.AsyncClient
) -> None:
    late = purchase("m-replay-1", "250.00", days_ago=20)
    other = purchase("m-replay-2", "80.00", days_ago=20)
    trace = ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    letters = [
        (
            b"m-replay-1",
            encode(late),
            [*CE_HEADERS, trace, *_errors("processing-failed", "points")],
        ),
        (b"m-replay-x", b"[not an event", [*CE_HEADERS, *_errors("invalid-json", "points")]),
        (b"m-replay-2", encode(other), [*CE_HEADERS, *_errors("processing-failed", "tiers")]),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        placed = [
            await producer.send_and_wait(DLQ, value, key=key, headers=headers)
            for key, value, headers in letters
        ]
    finally:
        await producer.stop()
    await asyncio.sleep(1.1)  # the replay stops at records written after it started

    # dry run: lists all three, republishes and commits nothing
    dry = await asyncio.to_thread(_replay, broker.bootstrap, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "would replay 3 of 3" in dry.stdout
    assert "invalid-json" in dry.stdout
    assert await read_all(broker.bootstrap, COMMERCE_PURCHASES, expect=1, timeout_s=3) == []

    # the points service's failures only: one record back on commerce.purchases, as it was
    run = await asyncio.to_thread(
        _replay, broker.bootstrap, "--code", "processing-failed", "--service", "points"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "replayed 1 of 3" in run.stdout
    (back,) = await read_all(broker.bootstrap, COMMERCE_PURCHASES, expect=1)
    assert (back.key, back.value) == (b"m-replay-1", encode(late))
    assert [k for k, _ in back.headers] == ["content-type", "traceparent"], "no error.* headers"

    # and the points service credits it, once
    await eventually(lambda: balance_of(points_api, "m-replay-1"), lambda b: b["available"] == 250)

    # the group committed past all three (the filtered-out ones too): nothing left
    again = await asyncio.to_thread(_replay, broker.bootstrap)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "replayed 0 of 0" in again.stdout

    # from offsets given (another group): the tiers letter alone
    tiers_letter = placed[2]
    given = await asyncio.to_thread(
        _replay,
        broker.bootstrap,
        "--group",
        "replay-by-hand",
        "--from-offset",
        f"{tiers_letter.partition}={tiers_letter.offset}",
        "--service",
        "tiers",
    )
    assert given.returncode == 0, given.stdout + given.stderr
    assert "replayed 1 of 1" in given.stdout
    ids = [e["id"] for e in await read_events(broker.bootstrap, COMMERCE_PURCHASES, expect=2)]
    assert ids == [late["id"], other["id"]] or ids == [other["id"], late["id"]]
    await eventually(lambda: balance_of(points_api, "m-replay-2"), lambda b: b["available"] == 80)
    assert (await balance_of(points_api, "m-replay-1"))["available"] == 250, "applied once"
