"""Producing to and reading from the test broker, as an outside client would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from tests.support.events import encode

CE_HEADERS = [("content-type", b"application/cloudevents+json")]


#: A record as a producer writes it: key, value and headers.
Record = tuple[bytes | None, bytes | None, Sequence[tuple[str, bytes]]]


async def publish(
    bootstrap: str, topic: str, messages: Iterable[tuple[bytes | None, bytes | None]]
) -> None:
    """(key, value) pairs, in order, with the CloudEvents content type."""
    await publish_records(bootstrap, topic, [(key, value, CE_HEADERS) for key, value in messages])


async def publish_records(
    bootstrap: str, topic: str, records: Iterable[Record], *, compression: str | None = None
) -> None:
    """(key, value, headers) records, in order, headers as given (a binary-mode CloudEvent
    carries its attributes in them), in batches compressed with `compression` if given."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=False,
        linger_ms=5,
        compression_type=compression,
    )
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send(topic, value=value, key=key, headers=list(headers))
        await producer.flush()
    finally:
        await producer.stop()


async def publish_events(bootstrap: str, topic: str, events: Iterable[dict[str, Any]]) -> None:
    await publish(bootstrap, topic, [(str(e["subject"]).encode(), encode(e)) for e in events])


def fetched_record(
    partition: int, offset: int, value: bytes, *, key: bytes, topic: str = COMMERCE_PURCHASES
) -> ConsumerRecord[bytes, bytes]:
    """A record as a consumer's fetch returns it, with the CloudEvents content type: for tests
    that hand batches to the consumer runner themselves."""
    return ConsumerRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=int(time.time() * 1000),
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value),
        headers=CE_HEADERS,
    )


async def committed_offsets(
    bootstrap: str, group_id: str, topic: str, partitions: int
) -> dict[int, int]:
    """The offset Kafka holds as committed by the group, for each partition that has one."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        found = {p: await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)}
        return {partition: offset for partition, offset in found.items() if offset is not None}
    finally:
        await consumer.stop()


async def read_all(
    bootstrap: str, topic: str, *, expect: int, timeout_s: float = 30
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read a topic from the start until `expect` records arrived (or the timeout passed). Every
    partition assigned, no consumer group: nothing to wait for before the first fetch (joining a
    group takes seconds on a busy machine, all of a short timeout)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(records) < expect and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


def event_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    """The CloudEvent a record holds in structured mode, as JSON."""
    assert record.value is not None, f"a record without a value at offset {record.offset}"
    event: dict[str, Any] = orjson.loads(record.value)
    return event


async def read_events(
    bootstrap: str, topic: str, *, expect: int, timeout_s: float = 30
) -> list[dict[str, Any]]:
    """`read_all`, each record's CloudEvent."""
    records = await read_all(bootstrap, topic, expect=expect, timeout_s=timeout_s)
    return [event_of(record) for record in records]
