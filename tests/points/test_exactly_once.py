"""Never count an event twice: redeliveries and replays change nothing."""

from __future__ import annotations

import time

import httpx
from aiokafka import ConsumerRecord, TopicPartition
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_POINTS
from loyalty_shared.runtime import runtime_of
from tests.points.test_crediting_purchases import balance_of
from tests.support.events import encode, purchase
from tests.support.kafka import CE_HEADERS, publish, read_all
from tests.support.waiting import eventually


async def test_the_same_event_delivered_three_times_credits_once(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    bootstrap = broker.bootstrap
    event = encode(purchase("m-4001", "250.00", days_ago=30))
    later = encode(purchase("m-4001", "10.00", days_ago=30))
    await publish(bootstrap, COMMERCE_PURCHASES, [(b"m-4001", event)] * 3 + [(b"m-4001", later)])

    body = await eventually(
        lambda: balance_of(points_api, "m-4001"), lambda b: b["lifetime_earned"] == 260
    )
    assert body["available"] == 260
    earned = await read_all(bootstrap, LOYALTY_POINTS, expect=3, timeout_s=3)
    assert len(earned) == 2, "one points.earned per purchase, not per delivery"


def _records(values: list[bytes], *, partition: int = 0) -> list[ConsumerRecord[bytes, bytes]]:
    now = int(time.time() * 1000)
    return [
        ConsumerRecord(
            topic=COMMERCE_PURCHASES,
            partition=partition,
            offset=offset,
            timestamp=now,
            timestamp_type=0,
            key=b"m-4002",
            value=value,
            checksum=None,
            serialized_key_size=6,
            serialized_value_size=len(value),
            headers=CE_HEADERS,
        )
        for offset, value in enumerate(values)
    ]


async def test_a_batch_replayed_after_a_crash_credits_once(
    points_app: FastAPI, points_api: httpx.AsyncClient
) -> None:
    # A crash after the database commit but before the offset commit hands the same batch to
    # the next consumer: the runner applies it again, and the inbox must make that a no-op.
    runner = runtime_of(points_app).consumer
    assert runner is not None
    batch = {
        TopicPartition(COMMERCE_PURCHASES, 0): _records(
            [
                encode(purchase("m-4002", total, days_ago=30))
                for total in ("100.00", "23.45", "0.99")
            ]
        )
    }

    await runner.apply_batch(batch)
    await runner.apply_batch(batch)

    body = await balance_of(points_api, "m-4002")
    assert body["available"] == 123
    assert body["lifetime_earned"] == 123
