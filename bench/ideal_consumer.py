"""The minimal ideal consumer the benchmarks compare the services with, as issue 3 defines it:
aiokafka batch read, orjson parse, one set-based statement that dedupes on the event id and
writes a ledger row, the member's balance and an outbox row per event, commit, commit offsets;
no validation, no business logic. With `--publish`, it also sends one outgoing event per input
after the commit (directly, not through a relay), for the latency benchmark.

    .venv/bin/python -m bench.ideal_consumer --bootstrap HOST:PORT --dsn URL [--publish TOPIC]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import asyncpg
import orjson
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from loyalty_shared.kafka.topics import COMMERCE_PURCHASES

SCHEMA = """
CREATE TABLE IF NOT EXISTS ideal_inbox (event_id text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ideal_ledger (
    id bigserial PRIMARY KEY, member_id text NOT NULL, order_id text NOT NULL,
    points bigint NOT NULL);
CREATE TABLE IF NOT EXISTS ideal_balance (member_id text PRIMARY KEY, points bigint NOT NULL);
CREATE TABLE IF NOT EXISTS ideal_outbox (id bigserial PRIMARY KEY, key text, value jsonb);
"""

APPLY = """
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
           AS i (event_id, member_id, order_id, points)
), inbox AS (
    INSERT INTO ideal_inbox SELECT event_id FROM input ON CONFLICT DO NOTHING RETURNING event_id
), fresh AS (
    SELECT input.* FROM input JOIN inbox USING (event_id)
), ledger AS (
    INSERT INTO ideal_ledger (member_id, order_id, points)
    SELECT member_id, order_id, points FROM fresh
), balance AS (
    INSERT INTO ideal_balance AS b SELECT member_id, sum(points) FROM fresh GROUP BY member_id
    ON CONFLICT (member_id) DO UPDATE SET points = b.points + EXCLUDED.points
)
INSERT INTO ideal_outbox (key, value)
SELECT member_id, jsonb_build_object('order_id', order_id, 'points', points) FROM fresh
"""


async def consume(
    bootstrap: str,
    dsn: str,
    *,
    until: Callable[[int], bool],
    publish: str | None = None,
) -> int:
    """Apply purchases until `until(applied)` says stop; returns how many were applied."""
    conn = await asyncpg.connect(dsn)
    await conn.execute(SCHEMA)
    consumer = AIOKafkaConsumer(
        COMMERCE_PURCHASES,
        bootstrap_servers=bootstrap,
        group_id="ideal",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
        max_poll_records=2000,
    )
    producer = (
        AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=1)
        if publish
        else None
    )
    await consumer.start()
    if producer is not None:
        await producer.start()
    applied = 0
    try:
        while not until(applied):
            batch = await consumer.getmany(timeout_ms=200)
            rows = []
            for records in batch.values():
                for record in records:
                    event = orjson.loads(record.value or b"{}")
                    rows.append((event["id"], event["subject"], event["data"]))
            if not rows:
                continue
            async with conn.transaction():
                await conn.execute(
                    APPLY,
                    [r[0] for r in rows],
                    [r[1] for r in rows],
                    [r[2]["order_id"] for r in rows],
                    [int(float(r[2]["total"])) for r in rows],
                )
            if producer is not None and publish is not None:
                for _, member, data in rows:
                    await producer.send(
                        publish,
                        value=orjson.dumps({"data": {"order_id": data["order_id"]}}),
                        key=member.encode(),
                    )
            await consumer.commit({tp: rs[-1].offset + 1 for tp, rs in batch.items()})
            applied += len(rows)
    finally:
        await consumer.stop()
        if producer is not None:
            await producer.stop()
        await conn.close()
    return applied


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--publish")
    args = parser.parse_args()
    uvloop.run(consume(args.bootstrap, args.dsn, until=lambda _: False, publish=args.publish))
