"""What a running service holds beside its routes: settings, the token verifier, the pool, the
producer, the relay, the consumer, every loop and the schema gate. Built by the app factory's
lifespan (service.py), reached through `runtime_of`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from starlette.applications import Starlette

from loyalty_shared.http.state import state_of

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

    from loyalty_shared.background import BackgroundLoop
    from loyalty_shared.db import Pool
    from loyalty_shared.db.relay import OutboxRelay
    from loyalty_shared.db.schema import SchemaGate
    from loyalty_shared.http.auth import TokenVerifier
    from loyalty_shared.kafka.consumer import ConsumerRunner
    from loyalty_shared.settings import ServiceSettings


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: ServiceSettings
    tokens: TokenVerifier
    pool: Pool
    producer: AIOKafkaProducer
    relay: OutboxRelay
    #: None for a service that consumes nothing.
    consumer: ConsumerRunner | None
    #: Every loop by name (relay, consumer, jobs): what the probes report.
    loops: Mapping[str, BackgroundLoop]
    #: Open once the schema holds every migration the service ships (the loops start then).
    schema: SchemaGate | None = None

    def on_commit(self) -> None:
        """A request's transaction committed: what it wrote to the outbox is published now."""
        self.relay.wake()


def runtime_of(source: Request | Starlette) -> Runtime:
    """The running service's `Runtime`; `LookupError` before its lifespan has started it."""
    return state_of(source, Runtime)
