"""The one consumer runner every service uses (aiokafka, no framework in between): each fetched
batch applied in one database transaction with its partitions' next offsets, the offsets
committed to Kafka after it (at most once per interval), a transient failure retried until the
batch applies, and every assigned partition sought to the offset the database holds
(docs/architecture.md#the-consumer-runner)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from opentelemetry.context import Context

from loyalty_shared.background import BackgroundLoop
from loyalty_shared.db import outbox
from loyalty_shared.db.errors import is_schema_behind, is_transient
from loyalty_shared.kafka import positions
from loyalty_shared.kafka.applying import Batch, BatchApplier, GroupFailed
from loyalty_shared.kafka.routing import Routes
from loyalty_shared.observability import tracing
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.observability.metrics import (
    BATCH_RETRIES,
    BATCH_SECONDS,
    CONSUMER_LAG,
    PROCESSING_SECONDS,
    SCHEMA_BEHIND_RETRIES,
)

log = get_logger(__name__)


class _Drain(ConsumerRebalanceListener):
    """Before partitions move to another member, let the batch in flight finish and commit;
    once assigned, hold them until the runner has sought them to the database's positions."""

    def __init__(self, lock: asyncio.Lock, runner: ConsumerRunner) -> None:
        self._lock = lock
        self._runner = runner

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        async with self._lock:
            log.info(
                "partitions revoked", partitions=[f"{tp.topic}/{tp.partition}" for tp in revoked]
            )
            await self._runner.commit_to_kafka(at_once=True)
            self._runner.forget(revoked)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        log.info(
            "partitions assigned", partitions=[f"{tp.topic}/{tp.partition}" for tp in assigned]
        )
        self._runner.hold(assigned)


class ConsumerRunner(BackgroundLoop):
    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        consumer: AIOKafkaConsumer,
        pool: asyncpg.Pool,
        routes: Routes,
        traces: tracing.Tracing | None = None,
        on_committed: Callable[[], None] = lambda: None,
        commit_interval_s: float = 1.0,
        linger_s: float = 0.0,
        max_batch: int = 2000,
    ) -> None:
        super().__init__(name=f"{service}-consumer", stop_timeout_s=25)
        #: Called after a batch that wrote events to the outbox has committed (the relay's
        #: wake-up).
        self._on_committed = on_committed
        self._service = service
        self._group_id = group_id
        self._consumer = consumer
        self._pool = pool
        self._routes = routes
        self._tracing = traces or tracing.current() or tracing.Tracing.for_service(service)
        self._applier = BatchApplier(service=service, routes=routes, traces=self._tracing)
        self._lock = asyncio.Lock()
        self._started = False
        #: Next offset to apply, per partition this process has applied records of.
        self._applied: dict[TopicPartition, int] = {}
        #: Assigned partitions paused until sought to their stored positions, and a count of
        #: assignments (a rebalance during the lookup makes it read again).
        self._unplaced: set[TopicPartition] = set()
        self._assignments = 0
        #: Offsets applied and not yet committed to Kafka; the partitions committed since they
        #: were assigned; when Kafka last got a commit (monotonic seconds).
        self._commit_interval_s = commit_interval_s
        #: How long a batch smaller than `max_batch` waits for more records to join it.
        self._linger_s = linger_s
        self._max_batch = max_batch
        self._to_commit: dict[TopicPartition, int] = {}
        self._committed_since_assigned: set[TopicPartition] = set()
        self._committed_at = 0.0

    async def start(self) -> None:
        self._consumer.subscribe(list(self._routes), listener=_Drain(self._lock, self))
        await self._consumer.start()
        self._started = True
        self._spawn()

    async def stop(self) -> None:
        """Graceful drain: stop fetching, finish and commit the batch in hand, leave the group."""
        if not await self._finish():
            log.warning("consumer did not drain in time; its batch will be redelivered")
        if self._started:
            async with self._lock:
                await self.commit_to_kafka(at_once=True)
            await self._consumer.stop()

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            if self._unplaced:
                await self._place()
                continue
            try:
                batch: Batch = await self._consumer.getmany(timeout_ms=200)
            except KafkaError as exc:
                # The broker away or the group moving: fetch again after a pause, commit nothing.
                failures += 1
                log.warning("fetch failed; retrying", error=repr(exc), attempt=failures)
                await self._stop_within(min(10.0, 0.2 * 2**failures))
                continue
            failures = 0
            if not batch:
                self._measure_lag(self._applied)
                async with self._lock:
                    await self.commit_to_kafka()
                continue
            if self._linger_s and _size(batch) < self._max_batch:
                batch = await self._linger(batch)
            async with self._lock:
                await self._apply_until_done(batch)

    async def _linger(self, batch: Batch) -> Batch:
        """`batch` and the records that arrived within the linger (in offset order), less those
        of partitions a rebalance took away meanwhile (their next owner reads them from the
        database's positions)."""
        if await self._stop_within(self._linger_s):
            return batch
        try:
            more = await self._consumer.getmany(
                timeout_ms=0, max_records=self._max_batch - _size(batch)
            )
        except KafkaError:
            return batch  # it goes as it is; the next fetch meets the error
        assigned = self._consumer.assignment()
        merged = {tp: list(records) for tp, records in batch.items() if tp in assigned}
        for tp, records in more.items():
            merged.setdefault(tp, []).extend(records)
        return merged

    async def _apply_until_done(self, batch: Batch) -> None:
        attempt = 0
        written = outbox.rows_written()
        while True:
            started = time.perf_counter()
            try:
                await self.apply_batch(batch)
            except Exception as exc:
                if is_schema_behind(exc):
                    # Transient too: the migration Job has not caught up with this code yet.
                    SCHEMA_BEHIND_RETRIES.labels(self._service).inc()
                    log.warning("schema behind the code: batch waits for the migration")
                elif not is_transient(exc):
                    # A failure outside any one event (the transaction itself): treat as transient,
                    # never skip records; the logs say why the service is stuck.
                    log.exception("batch failed", error=repr(exc))
                attempt += 1
                BATCH_RETRIES.labels(self._service).inc()
                delay = min(10.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0)
                log.warning(
                    "batch will be retried", error=repr(exc), attempt=attempt, delay_s=delay
                )
                if await self._stop_within(delay):
                    return  # not committed: the next owner of these partitions gets them again
                continue
            BATCH_SECONDS.labels(self._service).observe(time.perf_counter() - started)
            break
        if outbox.rows_written() != written:
            self._on_committed()
        self._measure_latency()
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items() if records}
        self._applied.update(offsets)
        self._measure_lag(offsets)
        self._to_commit.update(offsets)
        await self.commit_to_kafka()

    async def commit_to_kafka(self, *, at_once: bool = False) -> None:
        """Commit the applied offsets to Kafka when due: a partition's first since it was
        assigned at once, then at most once per interval, and everything `at_once` (partitions
        revoked, the runner stopping). Kafka's offsets serve lag metrics and Kafka's tools; the
        consumer resumes from the database's positions, so one that trails changes nothing
        (a commit is a broker round trip a batch saved)."""
        if not self._to_commit:
            return
        due = (
            at_once
            or time.monotonic() - self._committed_at >= self._commit_interval_s
            or not self._to_commit.keys() <= self._committed_since_assigned
        )
        if not due:
            return
        offsets, self._to_commit = self._to_commit, {}
        self._committed_at = time.monotonic()
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # The database already holds the effects and the positions: nothing is lost.
            log.warning("offset commit failed; Kafka's offsets trail", error=repr(exc))
            for tp, offset in offsets.items():
                self._to_commit.setdefault(tp, offset)
            return
        self._committed_since_assigned.update(offsets)

    async def apply_batch(self, batch: Batch) -> None:
        """Apply every record of a fetched batch in one transaction (public for tests, benches),
        in one `process` span linked to the trace context of each record that carried one. A
        batch whose handlers all succeed takes no savepoint; one a handler failed on is rolled
        back and applied again with a savepoint a group, to apply its events one by one."""
        records = [record for records in batch.values() for record in records]
        contexts = self._tracing.contexts_of(records)
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items() if records}
        with self._tracing.batch_span([tp.topic for tp in batch], contexts, len(records)):
            try:
                await self._apply_in_transaction(batch, contexts, offsets, savepoints=False)
            except GroupFailed as failed:
                log.warning(
                    "handler failed on a group; the batch applies again, the group one by one",
                    error=repr(failed.__cause__),
                )
                await self._apply_in_transaction(batch, contexts, offsets, savepoints=True)

    async def _apply_in_transaction(
        self,
        batch: Batch,
        contexts: Mapping[int, Context],
        offsets: dict[TopicPartition, int],
        *,
        savepoints: bool,
    ) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            # First: a second transaction on these partitions (a member evicted but still
            # applying) waits here for this one as a whole.
            await positions.store(conn, self._group_id, offsets)
            await self._applier.apply(conn, batch, contexts, savepoints=savepoints)

    def hold(self, assigned: Collection[TopicPartition]) -> None:
        """A new assignment (every partition's position is reset): pause its partitions until
        `_place` has sought them, so no record is fetched from Kafka's committed offset first."""
        self._assignments += 1
        self._unplaced = set(assigned)
        if assigned:
            self._consumer.pause(*assigned)

    async def _place(self) -> None:
        """Seek the held partitions to the next offsets the database stored, and resume them.
        Where it stored none (a first start), Kafka's committed offset applies, and Kafka's
        reset policy (the earliest record) where neither has one; reading the positions is
        retried until it succeeds or the runner stops (never skipped: a failover that lost
        transactions is only safe if their records are read again)."""
        attempt = 0
        while self._unplaced and not self._stopping.is_set():
            assignments, partitions = self._assignments, sorted(self._unplaced)
            try:
                stored, ignored = await self._stored_positions(partitions)
            except Exception as exc:
                if is_transient(exc) or isinstance(exc, KafkaError):
                    log.warning("reading positions failed; retrying", error=repr(exc))
                else:
                    log.exception("reading positions failed; retrying", error=repr(exc))
                attempt += 1
                await self._stop_within(min(10.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0))
                continue
            if assignments != self._assignments:
                continue  # the group rebalanced meanwhile: read the new assignment's
            for tp, offset in stored.items():
                self._consumer.seek(tp, offset)
            self._consumer.resume(*partitions)
            self._unplaced = set()
            if stored:
                log.info("partitions sought to the database's positions", positions=_named(stored))
            if ignored:
                log.warning(
                    "stored positions ignored: Kafka has no committed offset there, so the "
                    "partitions start over (a topic made again? a broker that lost its data?)",
                    positions=_named(ignored),
                )

    async def _stored_positions(
        self, partitions: Sequence[TopicPartition]
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
        """The stored positions to seek to, and those to ignore: of partitions for which Kafka
        holds no committed offset of the group, whose log is not the one the positions were
        read from (a topic made again, a cluster rebuilt, the local broker restarted)."""
        async with self._pool.acquire() as conn:
            stored = await positions.load(conn, self._group_id, partitions)
        committed = await asyncio.gather(*(self._consumer.committed(tp) for tp in stored))
        ignored: dict[TopicPartition, int] = {}
        for tp, kafka in zip(list(stored), committed, strict=True):
            if kafka is None:
                ignored[tp] = stored.pop(tp)
        return stored, ignored

    def _measure_latency(self) -> None:
        """Record timestamp to commit, per applied record (just after the commit)."""
        now_ms = time.time() * 1000
        for (topic, event_type), stamps in self._applier.applied.items():
            histogram = PROCESSING_SECONDS.labels(self._service, topic, event_type)
            for stamp in stamps:
                histogram.observe(max(0.0, (now_ms - stamp) / 1000))

    def _measure_lag(self, offsets: dict[TopicPartition, int]) -> None:
        """Records behind per partition: the high watermark the last fetch saw minus the next
        offset to apply. On the local broker (tansu) the watermark is the last batch's base
        offset + 1, so this reads low there; nothing but the gauge depends on it."""
        assigned = self._consumer.assignment()
        for tp, next_offset in offsets.items():
            highwater = self._consumer.highwater(tp) if tp in assigned else None
            if highwater is None:
                continue
            CONSUMER_LAG.labels(self._service, tp.topic, str(tp.partition)).set(
                max(0, highwater - next_offset)
            )

    def forget(self, revoked: Sequence[TopicPartition]) -> None:
        """Partitions gone to another member: their lag is that member's to report, and a
        lookup of their positions in flight is stale."""
        self._assignments += 1
        self._unplaced.difference_update(revoked)
        self._committed_since_assigned.difference_update(revoked)
        for tp in revoked:
            self._applied.pop(tp, None)
            self._to_commit.pop(tp, None)
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self._service, tp.topic, str(tp.partition))


def _named(offsets: dict[TopicPartition, int]) -> dict[str, int]:
    return {f"{tp.topic}/{tp.partition}": offset for tp, offset in sorted(offsets.items())}


def _size(batch: Batch) -> int:
    return sum(len(records) for records in batch.values())
