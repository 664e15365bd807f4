"""The database, not Kafka, says where a consumer stands: each batch stores the next offset of
its partitions with its effects, and every replica seeks its assigned partitions there, so a
database that lost its last transactions (a failover) has their records read again."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import asyncpg
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.db import Connection
from loyalty_shared.db.migrations import migrate
from loyalty_shared.db.pool import create_pool
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.kafka.client import make_consumer
from loyalty_shared.kafka.consumer import ConsumerRunner
from loyalty_shared.kafka.routing import Refusal, Route
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.settings import ServiceSettings
from tests.conftest import PARTITIONS
from tests.support.events import encode, purchase
from tests.support.kafka import committed_offsets, fetched_record, publish_events
from tests.support.tokens import SECRET
from tests.support.waiting import eventually

GROUP = "positions-test"
MEMBERS = [f"m-pos{n:02d}" for n in range(16)]


@pytest.fixture
async def pool_and_settings(
    new_database: Callable[[str], str], broker: LocalBroker, tmp_path: Path
) -> AsyncIterator[tuple[asyncpg.Pool, ServiceSettings]]:
    dsn = new_database("positions")
    (tmp_path / "migrations").mkdir()
    await migrate(dsn, tmp_path / "migrations")
    settings = ServiceSettings(
        kafka_bootstrap=broker.bootstrap, jwt_secret=SECRET, kafka_session_timeout_ms=6000
    )
    pool = await create_pool(dsn, settings)
    yield pool, settings
    await pool.close()


class Applied:
    """A handler that counts each event it applies, by id, and the size of each batch."""

    def __init__(self, *, fail_with: Exception | None = None) -> None:
        self.times: Counter[str] = Counter()
        self.batches: list[int] = []
        self._fail_with = fail_with

    async def __call__(
        self, conn: Connection, events: Sequence[Decoded[PurchaseCompletedV1]]
    ) -> Sequence[Refusal]:
        if self._fail_with is not None:
            raise self._fail_with
        self.times.update(event.envelope.id for event in events)
        self.batches.append(len(events))
        return ()


def runner(
    pool: asyncpg.Pool,
    settings: ServiceSettings,
    handler: Applied,
    *,
    name: str,
    group: str = GROUP,
    commit_interval_s: float = 1.0,
    linger_s: float = 0.0,
) -> ConsumerRunner:
    return ConsumerRunner(
        service=GROUP,
        group_id=group,
        consumer=make_consumer(settings, client_id=name, group_id=group),
        pool=pool,
        routes={COMMERCE_PURCHASES: {"purchase.completed": Route(PurchaseCompletedV1, handler)}},
        commit_interval_s=commit_interval_s,
        linger_s=linger_s,
    )


def record(partition: int, offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return fetched_record(partition, offset, value, key=b"m-pos00")


async def stored_positions(pool: asyncpg.Pool, group: str = GROUP) -> dict[int, int]:
    rows = await pool.fetch(
        "SELECT partition, next_offset FROM consumer_position WHERE group_id = $1 AND topic = $2",
        group,
        COMMERCE_PURCHASES,
    )
    return {row["partition"]: row["next_offset"] for row in rows}


async def test_a_batch_stores_the_next_offset_of_each_partition_dead_letters_included(
    pool_and_settings: tuple[asyncpg.Pool, ServiceSettings],
) -> None:
    pool, settings = pool_and_settings
    applied = Applied()
    batch = {
        TopicPartition(COMMERCE_PURCHASES, 0): [
            record(0, 7, encode(purchase("m-pos00", "10.00"))),
            record(0, 8, b"not json"),
        ],
        TopicPartition(COMMERCE_PURCHASES, 2): [record(2, 30, b"{}")],
    }

    await runner(pool, settings, applied, name="one").apply_batch(batch)

    assert await stored_positions(pool) == {0: 9, 2: 31}, "past the dead letters too"
    assert sum(applied.times.values()) == 1
    assert await pool.fetchval("SELECT count(*) FROM dead_letter") == 2


async def test_a_batch_rolled_back_leaves_its_positions_where_they_were(
    pool_and_settings: tuple[asyncpg.Pool, ServiceSettings],
) -> None:
    pool, settings = pool_and_settings
    first = {TopicPartition(COMMERCE_PURCHASES, 1): [record(1, 0, encode(purchase("m-pos00")))]}
    await runner(pool, settings, Applied(), name="one").apply_batch(first)
    failing = runner(pool, settings, Applied(fail_with=ConnectionResetError("gone")), name="two")
    later = {TopicPartition(COMMERCE_PURCHASES, 1): [record(1, 1, encode(purchase("m-pos00")))]}

    with pytest.raises(ConnectionResetError):
        await failing.apply_batch(later)

    assert await stored_positions(pool) == {1: 1}, "the position goes with the effects"


async def test_after_a_rebalance_every_replica_reads_again_what_the_database_lost(
    pool_and_settings: tuple[asyncpg.Pool, ServiceSettings], broker: LocalBroker
) -> None:
    pool, settings = pool_and_settings
    kept = [purchase(member, "5.00") for member in MEMBERS]
    lost = [purchase(member, "7.00") for member in MEMBERS * 2]
    first, second = Applied(), Applied()
    one = runner(pool, settings, first, name="one")
    await one.start()
    two = runner(pool, settings, second, name="two")
    try:
        await publish_events(broker.bootstrap, COMMERCE_PURCHASES, kept)
        await eventually(lambda: stored_positions(pool), lambda p: sum(p.values()) == len(kept))
        before = await stored_positions(pool)
        await publish_events(broker.bootstrap, COMMERCE_PURCHASES, lost)
        await eventually(
            lambda: stored_positions(pool), lambda p: sum(p.values()) == len(kept) + len(lost)
        )
        # The failover: the database is back where it was, Kafka's committed offsets are not.
        async with pool.acquire() as conn, conn.transaction():
            for partition, offset in before.items():
                await conn.execute(
                    "UPDATE consumer_position SET next_offset = $1 "
                    "WHERE group_id = $2 AND topic = $3 AND partition = $4",
                    offset,
                    GROUP,
                    COMMERCE_PURCHASES,
                    partition,
                )
            await conn.execute(
                "DELETE FROM processed_event WHERE event_id = ANY($1::text[])",
                [str(event["id"]) for event in lost],
            )

        await two.start()  # the group rebalances: partitions move, each is sought again

        async def applied(events: list[dict[str, object]]) -> set[int]:
            """How many times the events were applied, all replicas together."""
            return {first.times[str(e["id"])] + second.times[str(e["id"])] for e in events}

        await eventually(lambda: applied(lost), lambda times: times == {2}, timeout_s=60)
        assert await applied(kept) == {1}, "what the database kept is not applied again"
        assert second.times, "the replica that took partitions over sought them too"
        assert sum((await stored_positions(pool)).values()) == len(kept) + len(lost)
    finally:
        await two.stop()
        await one.stop()


async def test_positions_of_a_log_kafka_has_no_offsets_for_are_ignored_and_it_starts_over(
    pool_and_settings: tuple[asyncpg.Pool, ServiceSettings], broker: LocalBroker
) -> None:
    # A topic made again, a broker that lost its data: the database's positions point into a
    # log that is gone, and the new one has no committed offset of the group.
    pool, settings = pool_and_settings
    await pool.execute(
        "INSERT INTO consumer_position (group_id, topic, partition, next_offset) "
        "SELECT $1, $2, p, 1 FROM generate_series(0, $3 - 1) p",
        GROUP,
        COMMERCE_PURCHASES,
        PARTITIONS,
    )
    events = [purchase(member, "5.00") for member in MEMBERS]
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, events)
    applied = Applied()
    one = runner(pool, settings, applied, name="one")
    await one.start()
    try:
        await eventually(lambda: stored_positions(pool), lambda p: sum(p.values()) == len(events))
    finally:
        await one.stop()
    assert set(applied.times) == {str(event["id"]) for event in events}, "none skipped"


async def test_kafka_s_offsets_trail_the_database_s_by_the_interval_and_catch_up_at_shutdown(
    pool_and_settings: tuple[asyncpg.Pool, ServiceSettings], broker: LocalBroker
) -> None:
    """Kafka's committed offsets serve lag metrics and Kafka's tools, not the consumer: a commit
    a batch would be a broker round trip a batch for them. A partition's first batch since it
    was assigned is committed at once (a group Kafka has no offset of ignores the database's
    positions), later ones at most once per interval, and all of them when the consumer stops."""
    pool, settings = pool_and_settings
    group = f"commit-interval-{uuid.uuid4().hex[:8]}"
    applied = Applied()
    one = runner(pool, settings, applied, name="one", group=group, commit_interval_s=3600)
    first, second = purchase("m-pos00"), purchase("m-pos00")
    partition = DefaultPartitioner()(b"m-pos00", list(range(PARTITIONS)), [])

    async def offsets() -> tuple[dict[int, int], dict[int, int]]:
        kafka = await committed_offsets(broker.bootstrap, group, COMMERCE_PURCHASES, PARTITIONS)
        return kafka, await stored_positions(pool, group)

    await one.start()
    try:
        await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [first])
        _, before = await eventually(
            offsets, lambda o: applied.times[str(first["id"])] == 1 and o[0].keys() == o[1].keys()
        )
        await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [second])
        kafka, stored = await eventually(
            offsets, lambda o: o[1].get(partition) == before[partition] + 1
        )
        assert kafka[partition] < stored[partition], "not committed to Kafka within the interval"
    finally:
        await one.stop()

    kafka, stored = await offsets()
    assert kafka == stored, "caught up when the consumer stopped"
