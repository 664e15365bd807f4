"""Consumer positions in the service's database (`consumer_position`): the next offset of each
partition a batch read, stored in the batch's transaction, and where the consumer seeks when a
partition is assigned, so the database says what has been applied, not Kafka
(docs/architecture.md#the-consumer-runner)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from aiokafka import TopicPartition

from loyalty_shared.db import Connection


async def store(conn: Connection, group_id: str, offsets: Mapping[TopicPartition, int]) -> None:
    """One statement for the batch: the next offset of each of its partitions, in partition
    order (two transactions on the same partitions lock their rows in the same order)."""
    ordered = sorted(offsets.items())
    await conn.execute(
        """
        INSERT INTO consumer_position (group_id, topic, partition, next_offset)
        SELECT $1, p.topic, p.partition, p.next_offset
        FROM unnest($2::text[], $3::int[], $4::bigint[]) AS p(topic, partition, next_offset)
        ON CONFLICT (group_id, topic, partition)
        DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()
        """,
        group_id,
        [tp.topic for tp, _ in ordered],
        [tp.partition for tp, _ in ordered],
        [offset for _, offset in ordered],
    )


async def load(
    conn: Connection, group_id: str, partitions: Collection[TopicPartition]
) -> dict[TopicPartition, int]:
    """The stored next offset of each of these partitions that has one."""
    rows = await conn.fetch(
        """
        SELECT p.topic, p.partition, p.next_offset
        FROM consumer_position p
        JOIN unnest($2::text[], $3::int[]) AS wanted(topic, partition) USING (topic, partition)
        WHERE p.group_id = $1
        """,
        group_id,
        [tp.topic for tp in partitions],
        [tp.partition for tp in partitions],
    )
    return {TopicPartition(row["topic"], row["partition"]): row["next_offset"] for row in rows}
