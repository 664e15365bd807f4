"""Replaying a dead-letter topic: `loyalty dlq replay <topic>`.

Each record of `<topic>.dlq` is republished to the topic it came from (its `error.topic` header,
else the name without `.dlq`) with its original key, value and headers, minus the `error.*`
headers the service added; the consumers' inbox makes a record that was applied meanwhile a
no-op, and one that fails again is dead-lettered again (under its new position).

Where to start: the offsets the consumer group (`loyalty-dlq-replay` unless told) committed, or
the offsets given per partition. Offsets are committed as the replay goes (after the broker
acknowledged what was republished), so an interrupted replay resumes where it stopped. Records
left out by a filter are passed over too: replay one reason with a group of its own if the
others should be replayed later.

Where to stop: at the first record written after the replay started (records dead-lettered
again by the replay itself are never replayed in the same run), or when nothing more arrives for
`idle_s`. Never at an end offset: the local broker reports wrong ones, and Kafka's moves while
the services dead-letter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from loyalty_shared.kafka.client import make_consumer, make_producer
from loyalty_shared.settings import ServiceSettings

DEFAULT_GROUP = "loyalty-dlq-replay"
ERROR_PREFIX = "error."


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    code: str
    service: str
    detail: str
    original_topic: str
    replay: bool  # passes the filters


@dataclass
class ReplayReport:
    dlq_topic: str
    seen: int = 0
    replayed: int = 0
    skipped: int = 0
    letters: list[DeadLetter] = field(default_factory=list)
    #: Next offset per partition when the replay ended (what was committed, unless dry run).
    positions: dict[int, int] = field(default_factory=dict)


def dlq_name(topic: str) -> str:
    return topic if topic.endswith(".dlq") else f"{topic}.dlq"


def _header(headers: Sequence[tuple[str, bytes]], name: str) -> str:
    for key, value in headers:
        if key == name:
            return value.decode(errors="replace")
    return ""


def original_headers(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(key, value) for key, value in headers if not key.startswith(ERROR_PREFIX)]


def describe(
    record: ConsumerRecord[bytes, bytes],
    dlq_topic: str,
    codes: Sequence[str],
    services: Sequence[str],
) -> DeadLetter:
    headers = tuple(record.headers or ())
    code, service = _header(headers, "error.code"), _header(headers, "error.service")
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        code=code,
        service=service,
        detail=_header(headers, "error.detail"),
        original_topic=_header(headers, "error.topic") or dlq_topic.removesuffix(".dlq"),
        replay=(not codes or code in codes) and (not services or service in services),
    )


async def replay(
    settings: ServiceSettings,
    topic: str,
    *,
    group: str = DEFAULT_GROUP,
    from_offsets: Mapping[int, int] | None = None,
    codes: Sequence[str] = (),
    services: Sequence[str] = (),
    dry_run: bool = False,
    idle_s: float = 3.0,
    on_total: Callable[[int], None] = lambda total: None,
    on_record: Callable[[DeadLetter], None] = lambda letter: None,
) -> ReplayReport:
    """Replay `<topic>.dlq`; see the module's docstring. `on_total` gets an estimate of how
    many records lie ahead (from end offsets, so only an estimate), `on_record` each one seen."""
    report = ReplayReport(dlq_topic=dlq_name(topic))
    started_ms = int(time.time() * 1000)
    consumer = make_consumer(settings, client_id="loyalty-dlq-replay", group_id=group)
    producer: AIOKafkaProducer | None = None
    await consumer.start()
    try:
        partitions = await _assign(consumer, report.dlq_topic, from_offsets)
        report.positions = await _positions(consumer, partitions)
        on_total(await _estimate(consumer, partitions))
        if not dry_run:
            producer = make_producer(settings, client_id="loyalty-dlq-replay")
            await producer.start()
        await _replay_partitions(
            consumer, producer, partitions, report, started_ms, codes, services, idle_s, on_record
        )
    finally:
        if producer is not None:
            await producer.stop()
        await consumer.stop()
    return report


async def _assign(
    consumer: AIOKafkaConsumer, dlq_topic: str, from_offsets: Mapping[int, int] | None
) -> list[TopicPartition]:
    await consumer.topics()  # metadata
    known = consumer.partitions_for_topic(dlq_topic)
    if not known:
        raise ValueError(f"no topic {dlq_topic}")
    wanted = sorted(from_offsets) if from_offsets else sorted(known)
    missing = [p for p in wanted if p not in known]
    if missing:
        raise ValueError(f"{dlq_topic} has no partition {missing}")
    partitions = [TopicPartition(dlq_topic, p) for p in wanted]
    # Manual assignment, offsets kept under the group: no rebalance to wait for.
    consumer.assign(partitions)
    for tp in partitions:
        if from_offsets:
            consumer.seek(tp, from_offsets[tp.partition])
            continue
        committed = await consumer.committed(tp)
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
    return partitions


async def _estimate(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> int:
    ends = await consumer.end_offsets(partitions)
    total = 0
    for tp in partitions:
        total += max(0, ends[tp] - await consumer.position(tp))
    return total


async def _positions(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
) -> dict[int, int]:
    return {tp.partition: await consumer.position(tp) for tp in partitions}


async def _replay_partitions(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer | None,
    partitions: list[TopicPartition],
    report: ReplayReport,
    started_ms: int,
    codes: Sequence[str],
    services: Sequence[str],
    idle_s: float,
    on_record: Callable[[DeadLetter], None],
) -> None:
    active = set(partitions)
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    while active and loop.time() - quiet_since < idle_s:
        fetched = await consumer.getmany(*active, timeout_ms=200)
        if not any(fetched.values()):
            continue
        quiet_since = loop.time()
        deliveries = []
        done: dict[TopicPartition, int] = {}
        for tp, records in fetched.items():
            for record in records:
                if record.timestamp >= started_ms:
                    # written after the replay began (perhaps by the replay itself): stop here
                    active.discard(tp)
                    consumer.pause(tp)
                    break
                letter = describe(record, report.dlq_topic, codes, services)
                report.seen += 1
                report.letters.append(letter)
                if letter.replay:
                    report.replayed += 1
                    if producer is not None:
                        deliveries.append(
                            await producer.send(
                                letter.original_topic,
                                value=record.value,
                                key=record.key,
                                headers=original_headers(tuple(record.headers or ())),
                            )
                        )
                else:
                    report.skipped += 1
                done[tp] = record.offset + 1
                on_record(letter)
        report.positions.update({tp.partition: offset for tp, offset in done.items()})
        if producer is not None and done:
            await asyncio.gather(*deliveries)  # acknowledged before the offsets move past them
            await consumer.commit(done)
