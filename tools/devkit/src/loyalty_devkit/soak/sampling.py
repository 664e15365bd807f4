"""What the soak measures every few seconds, per service: resident memory, outbox backlog and
consumer lag.

- Memory: the process's resident set, with any children (psutil).
- Outbox backlog: rows in the service's own `outbox` table, read from its database.
- Consumer lag: per consumer group (`loyalty-<service>`) and topic it reads, the records
  produced minus the group's committed offsets. Produced records are counted, not asked of the
  broker (tansu answers wrong end offsets; docs/operations.md): for the input topics from the
  offsets the soak's own producer got back, per partition; for the platform's own topics from
  the emitting services' `loyalty_outbox_published_total` counters (topics are fresh, offsets
  dense from 0, and no service restarts during a soak, so the counters are whole). The
  services' own `loyalty_consumer_lag_records` gauges are not used for the same reason.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import asyncpg
import httpx
import psutil
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from loyalty_shared.kafka.topics import (
    COMMERCE_MEMBERS,
    COMMERCE_PURCHASES,
    LOYALTY_FEEDBACK,
    LOYALTY_POINTS,
    LOYALTY_TIERS,
)

SERVICES = ("points", "tiers", "notifications", "feedback")
INPUT_TOPICS = (COMMERCE_PURCHASES, COMMERCE_MEMBERS)
#: what each service's consumer group reads (README, "How it fits together")
SUBSCRIPTIONS: Mapping[str, tuple[str, ...]] = {
    "points": (COMMERCE_PURCHASES, LOYALTY_TIERS, LOYALTY_FEEDBACK),
    "tiers": (COMMERCE_PURCHASES,),
    "notifications": (
        COMMERCE_MEMBERS,
        COMMERCE_PURCHASES,
        LOYALTY_POINTS,
        LOYALTY_TIERS,
        LOYALTY_FEEDBACK,
    ),
    "feedback": (COMMERCE_PURCHASES, LOYALTY_TIERS),
}


@dataclass(frozen=True)
class Sample:
    t_s: float  # seconds since the load started
    phase: str  # "load" or "drain"
    service: str
    rss_bytes: int
    outbox_backlog: int
    lag: int  # records produced and not yet committed by the service's group, all its topics
    published: int  # input records the soak had published by then


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children; 0 if it is gone."""
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        total = int(process.memory_info().rss)
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += int(child.memory_info().rss)
        return total
    return 0


def published_by_topic(metrics_text: str) -> dict[str, int]:
    """`loyalty_outbox_published_total` by topic, from a service's /metrics."""
    out: dict[str, int] = defaultdict(int)
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "loyalty_outbox_published":
            continue
        for sample in family.samples:
            if sample.name == "loyalty_outbox_published_total":
                out[sample.labels["topic"]] += int(sample.value)
    return dict(out)


def group_lag(
    topics: tuple[str, ...],
    committed: Mapping[tuple[str, int], int],
    produced_input: Mapping[tuple[str, int], int],
    produced_internal: Mapping[str, int],
) -> int:
    """Records a group has still to commit over `topics`: per partition for the input topics
    (end offset we produced minus committed), per topic for the platform's own (records the
    relays published minus the sum of committed offsets)."""
    lag = 0
    for topic in topics:
        done = sum(offset for (t, _), offset in committed.items() if t == topic)
        if topic in INPUT_TOPICS:
            lag += sum(
                end - committed.get((t, p), 0)
                for (t, p), end in produced_input.items()
                if t == topic
            )
        else:
            lag += produced_internal.get(topic, 0) - done
    return lag


class Sampler:
    """Reads the figures; one database connection per service, one admin client, kept open."""

    def __init__(
        self,
        *,
        bootstrap: str,
        database_urls: Mapping[str, str],
        urls: Mapping[str, str],
        partitions: int,
    ) -> None:
        self._bootstrap = bootstrap
        self._database_urls = database_urls
        self._urls = urls
        self._partitions = partitions
        self._db: dict[str, asyncpg.Connection] = {}
        self._admin: AIOKafkaAdminClient | None = None
        # idle connections dropped before uvicorn's 5 s keep-alive ends them under our feet
        self._http = httpx.AsyncClient(timeout=10, limits=httpx.Limits(keepalive_expiry=2))

    async def start(self) -> None:
        for service, url in self._database_urls.items():
            self._db[service] = await asyncpg.connect(url, timeout=10)
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap, request_timeout_ms=20_000
        )
        await self._admin.start()

    async def close(self) -> None:
        for conn in self._db.values():
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await self._admin.close()
        await self._http.aclose()

    async def backlog(self, service: str) -> int:
        value = await self._db[service].fetchval("SELECT count(*) FROM outbox", timeout=30)
        return int(value)

    async def committed(self, service: str) -> dict[tuple[str, int], int]:
        assert self._admin is not None
        # name the partitions: tansu's answer for "all of the group's" cannot be decoded
        partitions = [
            TopicPartition(topic, p)
            for topic in SUBSCRIPTIONS[service]
            for p in range(self._partitions)
        ]
        answer = await self._admin.list_consumer_group_offsets(
            f"loyalty-{service}", partitions=partitions
        )
        return {(tp.topic, tp.partition): max(0, meta.offset) for tp, meta in answer.items()}

    async def published(self) -> dict[str, int]:
        """Records the services' relays published, by topic (summed over services)."""
        total: dict[str, int] = defaultdict(int)
        for url in self._urls.values():
            response = await self._http.get(f"{url}/metrics")
            response.raise_for_status()
            for topic, count in published_by_topic(response.text).items():
                total[topic] += count
        return dict(total)

    async def take(
        self,
        *,
        t_s: float,
        phase: str,
        pids: Mapping[str, int],
        produced_input: Callable[[], Mapping[tuple[str, int], int]],
        published: int,
    ) -> list[Sample]:
        # committed offsets first, what was produced second: a record produced and applied in
        # between then shows as lag for one poll, never as a negative lag
        committed = {service: await self.committed(service) for service in SERVICES}
        produced_internal = await self.published()
        produced = produced_input()
        samples = []
        for service in SERVICES:
            samples.append(
                Sample(
                    t_s=t_s,
                    phase=phase,
                    service=service,
                    rss_bytes=rss_bytes(pids[service]),
                    outbox_backlog=await self.backlog(service),
                    lag=group_lag(
                        SUBSCRIPTIONS[service], committed[service], produced, produced_internal
                    ),
                    published=published,
                )
            )
        return samples
