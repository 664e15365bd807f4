"""`member.erasure_requested`, applied the same way by every service (contract 5.4).

In the consumer's transaction, for a batch of requests: the service erases what identifies the
members in its own tables (its `Eraser`); then, here, what every service has: events still in the
outbox lose their personal fields (`Redaction` per event type) and dead letters waiting there their
record, as do the dead letters kept for operators (`dead_letter`); refunds parked for these members
are cut down to what the contract reads (`records.minimal`); each request goes into the register
(`member_erasure`) and is answered with `privacy.erased` on `loyalty.privacy`. A request for a
member never seen is answered the same; a request delivered again is a duplicate to the inbox.
Balances, ledgers, tiers and scores stay: they are keyed by the member id, which identifies no one
outside the shop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel

from loyalty_shared.clock import Clock, system_clock
from loyalty_shared.db import Connection
from loyalty_shared.db.outbox import enqueue_events
from loyalty_shared.events.commerce import ErasureRequestedV1, PurchaseRefundedV1
from loyalty_shared.events.decoding import Decoded, RawRecord
from loyalty_shared.events.emitting import platform_event
from loyalty_shared.events.loyalty import PrivacyErasedV1
from loyalty_shared.kafka.routing import Refusal, Route
from loyalty_shared.kafka.topics import LOYALTY_PRIVACY
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.privacy import records, repository
from loyalty_shared.privacy.repository import Erasure, OutboxRow

log = get_logger(__name__)

#: What replaces free text that had to stay non-empty (a ledger entry's reason).
ERASED = "(erased)"

#: A service's own erasure: the personal data in its tables for these members, at this time, in
#: the batch's transaction (set-based; a member it never saw simply matches nothing).
Eraser = Callable[[Connection, Sequence[str], datetime], Awaitable[None]]
#: How an event's unpublished copy loses its personal fields: the data without them, or None to
#: drop the event (it is only a carrier of personal data, such as a survey link).
Redaction = Callable[[dict[str, Any]], dict[str, Any] | None]


def erasure_route(
    *,
    service: str,
    erase: Eraser,
    redactions: Mapping[str, Redaction] | None = None,
    parked_models: Mapping[str, type[BaseModel]] | None = None,
    clock: Clock = system_clock,
) -> Route[ErasureRequestedV1]:
    """The route for `member.erasure_requested` on `commerce.members`. `parked_models`: the
    models of the records this service parks (to cut them down), by event type; refunds unless
    told."""
    redactions = dict(redactions or {})
    models = dict(parked_models or {PurchaseRefundedV1.TYPE: PurchaseRefundedV1})

    async def on_erasures(
        conn: Connection, events: Sequence[Decoded[ErasureRequestedV1]]
    ) -> Sequence[Refusal]:
        now = clock()
        erasures = []
        for event in events:
            data = event.data
            erasures.append(Erasure(data.member_id, event.envelope.id, data.requested_at, now))
        members = sorted({e.member_id for e in erasures})
        await erase(conn, members, now)
        await _scrub_outbox(conn, members, redactions)
        await repository.erase_dead_letters(conn, members, detail=ERASED, at=now)
        await _minimise_parked(conn, service, set(members), models)
        await repository.register(conn, erasures)
        await enqueue_events(
            conn,
            topic=LOYALTY_PRIVACY,
            events=[
                platform_event(
                    PrivacyErasedV1(
                        member_id=e.member_id,
                        service=service,
                        erased_at=e.erased_at,
                        requested_at=e.requested_at,
                        causation_id=e.request_id,
                    ),
                    source=f"loyalty/{service}",
                    cause=f"{service}:{e.request_id}",
                )
                for e in erasures
            ],
        )
        log.info("members erased", members=len(members), requests=len(erasures))
        return ()

    return Route(ErasureRequestedV1, on_erasures)


async def _scrub_outbox(
    conn: Connection, members: Sequence[str], redactions: Mapping[str, Redaction]
) -> None:
    rewritten: list[OutboxRow] = []
    gone: list[int] = []
    for row in await repository.unpublished_for(conn, members):
        if row.topic.endswith(".dlq"):
            # the refused record itself may hold anything; why and where it was refused stays
            errors = tuple((k, v) for k, v in row.headers if k.startswith("error."))
            rewritten.append(replace(row, payload=None, headers=errors))
            continue
        event: Any = orjson.loads(row.payload or b"{}")
        kind = event.get("type") if isinstance(event, dict) else None
        redact = redactions.get(kind) if isinstance(kind, str) else None
        if redact is None:
            continue
        data = redact(dict(event.get("data") or {}))
        if data is None:
            gone.append(row.id)
        else:
            rewritten.append(replace(row, payload=orjson.dumps({**event, "data": data})))
    await repository.rewrite_outbox(conn, rewritten)
    await repository.drop_outbox(conn, gone)


async def _minimise_parked(
    conn: Connection, service: str, members: set[str], models: Mapping[str, type[BaseModel]]
) -> None:
    cut: dict[str, RawRecord] = {}
    unreadable: list[str] = []
    for parked in await repository.parked(conn, service):
        if records.member_of(parked.raw.value, parked.raw.headers) not in members:
            continue
        smaller = records.minimal(parked.raw, models)
        if smaller is None:
            unreadable.append(parked.event_id)  # it could never apply: nothing to keep
        else:
            cut[parked.event_id] = smaller
    await repository.rewrite_parked(conn, service, cut)
    await repository.drop_parked(conn, service, unreadable)


def without(*fields: str) -> Redaction:
    """A redaction setting these (optional) fields to null."""

    def redact(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, **dict.fromkeys(fields)}

    return redact


def replaced(*fields: str) -> Redaction:
    """A redaction replacing these (required) text fields with `ERASED`."""

    def redact(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, **dict.fromkeys(fields, ERASED)}

    return redact


def dropped(data: dict[str, Any]) -> None:
    """A redaction dropping the event."""
    return None
