"""The outbox relay: publishes committed outbox rows to Kafka in the order they were written, then
deletes them (docs/architecture.md#the-transactional-outbox-and-relay)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import asyncpg
from aiokafka import AIOKafkaProducer

from loyalty_shared.background import BackgroundLoop
from loyalty_shared.db import Connection
from loyalty_shared.db.errors import is_transient
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.observability.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_FAILURES,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISHED,
)

log = get_logger(__name__)

# Any constant works; it only has to be the same for every replica of one service's database.
RELAY_LOCK_KEY = 0x10_7A17_0B0C
#: How often the backlog gauges are refreshed (a count over the outbox: cheap, not free).
GAUGES_EVERY_S = 5.0


class OutboxRelay(BackgroundLoop):
    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        batch: int = 500,
        idle_sleep_s: float = 0.05,
    ) -> None:
        super().__init__(name=f"{service}-outbox-relay", stop_timeout_s=10)
        self._service = service
        self._pool = pool
        self._producer = producer
        self._batch = batch
        self._idle_sleep_s = idle_sleep_s
        self._gauges_at = 0.0
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Something committed rows to the outbox: publish now rather than at the next poll (the
        poll remains for rows written by other processes, such as the scheduled jobs)."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Publish what is committed already (bounded), then stop."""
        if not await self._finish():
            log.warning("relay stopped before the outbox was empty; the next start publishes it")

    async def publish_once(self, *, probe: bool = True) -> int:
        """One round: publish up to `batch` rows and delete them. Returns how many went out.
        `probe`: look first whether the outbox holds anything (most polls find nothing: one
        indexed probe instead of a transaction and its lock); not after a wake-up."""
        async with self._pool.acquire() as conn:
            if probe and await conn.fetchval("SELECT id FROM outbox ORDER BY id LIMIT 1") is None:
                return 0
            return await self._publish(conn)

    async def _publish(self, conn: Connection) -> int:
        async with conn.transaction():
            # The outbox swings from empty to full: a generic plan cached while it was empty can
            # run for minutes once it is full (docs/operations.md), so the relay's statements are
            # planned afresh (SET LOCAL). Only here: elsewhere custom plans would double the cost
            # of a read.
            locked = await conn.fetchval(
                """
                SELECT pg_try_advisory_xact_lock($1)
                FROM set_config('plan_cache_mode', 'force_custom_plan', true)
                """,
                RELAY_LOCK_KEY,
            )
            if not locked:
                return 0
            rows = await conn.fetch(
                """
                SELECT id, topic, message_key, payload, header_names, header_values
                FROM outbox ORDER BY id LIMIT $1
                """,
                self._batch,
            )
            if not rows:
                return 0
            deliveries = [
                await self._producer.send(
                    row["topic"],
                    value=row["payload"],
                    key=row["message_key"],
                    headers=list(zip(row["header_names"], row["header_values"], strict=True)),
                )
                for row in rows
            ]
            await asyncio.gather(*deliveries)
            await self._forget(conn, [row["id"] for row in rows])
        for topic, count in Counter(row["topic"] for row in rows).items():
            OUTBOX_PUBLISHED.labels(self._service, topic).inc(count)
        return len(rows)

    async def refresh_gauges(self) -> None:
        """Backlog and the age of the oldest row, as every replica sees the one outbox."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                """
                SELECT count(*) AS backlog,
                       coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)
                           AS oldest_s
                FROM outbox
                """
            )
        assert row is not None
        OUTBOX_BACKLOG.labels(self._service).set(row["backlog"])
        OUTBOX_OLDEST_AGE.labels(self._service).set(max(0.0, float(row["oldest_s"])))

    async def _refresh_gauges_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._gauges_at < GAUGES_EVERY_S:
            return
        self._gauges_at = now
        try:
            await self.refresh_gauges()
        except Exception as exc:  # noqa: BLE001 - a gauge is not worth failing the relay for
            log.warning("outbox gauges not refreshed", error=repr(exc))

    async def _forget(self, conn: Connection, ids: list[int]) -> None:
        """Published rows leave the outbox (a crash before this line republishes them)."""
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", ids)

    async def _run(self) -> None:
        failures = 0
        woken = False
        while True:
            await self._refresh_gauges_now_and_then()
            try:
                published = await self.publish_once(probe=not woken)
                failures = 0
            except Exception as exc:
                if not is_transient(exc) and not _is_kafka_error(exc):
                    log.exception("outbox relay failed", error=str(exc))
                failures += 1
                OUTBOX_FAILURES.labels(self._service).inc()
                delay = min(5.0, 0.1 * 2**failures) * random.uniform(0.5, 1.0)
                log.warning("outbox relay will retry", error=repr(exc), delay_s=round(delay, 2))
                if await self._stop_within(delay):
                    return
                continue
            woken = False
            if published == 0:
                if await self._idle():
                    return
                woken = self._wakeup.is_set()
                self._wakeup.clear()

    async def _idle(self) -> bool:
        """Wait for a wake-up or the next poll; True when asked to stop."""
        waits = [
            asyncio.ensure_future(self._stopping.wait()),
            asyncio.ensure_future(self._wakeup.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=self._idle_sleep_s, return_when="FIRST_COMPLETED")
        finally:
            for wait in waits:
                wait.cancel()
        return self._stopping.is_set()


def _is_kafka_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("aiokafka")
