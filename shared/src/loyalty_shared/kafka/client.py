"""aiokafka clients built from settings (security, idempotence, timeouts in one place)."""

from __future__ import annotations

import functools
import ssl
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from loyalty_shared.settings import ServiceSettings

#: The largest record batch the producer builds.
MAX_RECORD_BATCH_BYTES = 512 * 1024


class KeyedPartitions:
    """aiokafka's default partitioner (murmur2 of the key, as Kafka's own clients) with its
    answers kept: murmur2 is pure Python in aiokafka, 2 µs a record, and the keys are member ids
    that come back again and again."""

    def __init__(self, size: int = 65_536) -> None:
        self._default = DefaultPartitioner()
        self._partition = functools.lru_cache(maxsize=size)(self._of)

    def _of(self, key: bytes, partitions: tuple[int, ...]) -> int:
        return int(self._default(key, list(partitions), list(partitions)))

    def __call__(self, key: bytes | None, partitions: list[int], available: list[int]) -> int:
        if key is None:  # no key: any partition that is up, as aiokafka chooses it
            return int(self._default(key, partitions, available))
        return int(self._partition(key, tuple(partitions)))


def _common(settings: ServiceSettings, client_id: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": client_id,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in {"SSL", "SASL_SSL"}:
        options["ssl_context"] = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_sasl_mechanism is not None:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def make_producer(settings: ServiceSettings, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **_common(settings, client_id),
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        # The relay hands the producer a whole outbox batch at once: waiting for more to come
        # would only delay every event (5 ms was a tenth of the median latency).
        linger_ms=1,
        # ... and that batch goes out as one record batch per partition rather than one per 16 KB
        # (aiokafka's default): fewer produce requests for the service and the broker to handle.
        # Under Kafka's default message.max.bytes (1 MB) with room to spare.
        max_batch_size=MAX_RECORD_BATCH_BYTES,
        partitioner=KeyedPartitions(),
        request_timeout_ms=15_000,
    )


def make_consumer(settings: ServiceSettings, *, client_id: str, group_id: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **_common(settings, client_id),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        max_poll_records=settings.kafka_max_batch,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=max(1000, settings.kafka_session_timeout_ms // 3),
    )
