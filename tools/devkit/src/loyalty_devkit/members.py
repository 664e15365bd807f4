"""`loyalty member erase | export | reapply-erasures`: a member's data rights, by hand.

- erase: publishes `member.erasure_requested` on `commerce.members` (as the shop would) and
  waits for each service's `privacy.erased` on `loyalty.privacy`.
- export: asks every service for `GET /v1/members/{id}/export` and writes one JSON document.
- reapply-erasures: after a database is restored from a backup older than some erasures, publishes
  their requests again. The register it reads is `loyalty.privacy` itself: a compacted topic
  keyed by member id, never tombstoned, holding only ids and times, so it keeps the latest
  erasure of every member for as long as the cluster lives, whatever the databases or
  `commerce.members` (the shop's, 7 days) still hold. A request goes out again under its
  original id: a service whose restored inbox has it (the backup already had it erased, or a
  replay applied it) skips it; the others apply it now. Why this and not a table in each
  database or a replay of `commerce.members`: docs/operations.md#member-data-rights.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from loyalty_shared.events.commerce import ErasureRequestedV1
from loyalty_shared.events.envelope import CONTENT_TYPE
from loyalty_shared.events.loyalty import PrivacyErasedV1
from loyalty_shared.kafka.client import make_consumer, make_producer
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, LOYALTY_PRIVACY
from loyalty_shared.settings import ServiceSettings

SERVICES = ("points", "tiers", "notifications", "feedback")
SOURCE = "loyalty/cli"


@dataclass(frozen=True, slots=True)
class ErasureRequest:
    member_id: str
    request_id: str
    requested_at: datetime

    def event(self) -> bytes:
        data = ErasureRequestedV1(member_id=self.member_id, requested_at=self.requested_at)
        return orjson.dumps(
            {
                "specversion": "1.0",
                "id": self.request_id,
                "source": SOURCE,
                "type": ErasureRequestedV1.TYPE,
                "time": datetime.now(UTC).isoformat(),
                "subject": self.member_id,
                "datacontenttype": "application/json",
                "data": data.model_dump(mode="json"),
            }
        )


def new_request(member_id: str) -> ErasureRequest:
    return ErasureRequest(member_id, str(uuid.uuid4()), datetime.now(UTC))


async def publish(settings: ServiceSettings, requests: Iterable[ErasureRequest]) -> None:
    """On `commerce.members`, keyed by member, each acknowledged before this returns."""
    producer = make_producer(settings, client_id="loyalty-member")
    await producer.start()
    try:
        sent = [
            await producer.send(
                COMMERCE_MEMBERS,
                value=r.event(),
                key=r.member_id.encode(),
                headers=[("content-type", CONTENT_TYPE.encode())],
            )
            for r in requests
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


@dataclass
class Erased:
    """What `loyalty.privacy` says about one member: their latest erasure request, and which
    services answered it."""

    member_id: str
    request_id: str
    requested_at: datetime
    erased_at: datetime
    services: set[str] = field(default_factory=set)

    def request(self) -> ErasureRequest:
        return ErasureRequest(self.member_id, self.request_id, self.requested_at)


async def read_register(
    settings: ServiceSettings,
    *,
    idle_s: float = 3.0,
    until: Callable[[dict[str, Erased]], bool] = lambda register: False,
    timeout_s: float | None = None,
) -> dict[str, Erased]:
    """`loyalty.privacy` from its start, by member: read until nothing more arrives for `idle_s`
    (end offsets are not trusted: the local broker reports wrong ones), or until `until` holds,
    or `timeout_s` passed."""
    register: dict[str, Erased] = {}
    consumer = make_consumer(settings, client_id="loyalty-member", group_id="loyalty-member")
    await consumer.start()
    try:
        await _from_start(consumer, LOYALTY_PRIVACY)
        loop = asyncio.get_running_loop()
        started = quiet_since = loop.time()
        while not until(register) and loop.time() - quiet_since < idle_s:
            if timeout_s is not None and loop.time() - started > timeout_s:
                break
            fetched = await consumer.getmany(timeout_ms=200)
            for records in fetched.values():
                for record in records:
                    quiet_since = loop.time()
                    _note(register, record.value)
    finally:
        await consumer.stop()
    return register


async def _from_start(consumer: AIOKafkaConsumer, topic: str) -> None:
    await consumer.topics()  # metadata
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(partitions)  # no group membership, nothing committed
    await consumer.seek_to_beginning(*partitions)


def _note(register: dict[str, Erased], value: bytes | None) -> None:
    try:
        event: Any = orjson.loads(value or b"null")
        data = PrivacyErasedV1.model_validate(event["data"])
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError):
        return  # not a privacy.erased: nothing to learn from it
    known = register.get(data.member_id)
    if known is None or known.request_id != data.causation_id:
        if known is not None and known.erased_at > data.erased_at:
            return  # an older request of a member erased again since
        known = register[data.member_id] = Erased(
            data.member_id, data.causation_id, data.requested_at, data.erased_at
        )
    known.services.add(data.service)
    known.erased_at = max(known.erased_at, data.erased_at)


async def erase(
    settings: ServiceSettings,
    member_id: str,
    *,
    timeout_s: float = 60.0,
    on_answer: Callable[[str], None] = lambda service: None,
) -> set[str]:
    """Publish an erasure request and wait for the services' answers; returns who answered."""
    request = new_request(member_id)
    await publish(settings, [request])
    answered: set[str] = set()

    def done(register: dict[str, Erased]) -> bool:
        known = register.get(member_id)
        if known is not None and known.request_id == request.request_id:
            for service in sorted(known.services - answered):
                answered.add(service)
                on_answer(service)
        return answered >= set(SERVICES)

    await read_register(settings, idle_s=timeout_s, until=done, timeout_s=timeout_s)
    return answered


async def reapply(
    settings: ServiceSettings, *, since: datetime | None = None, dry_run: bool = False
) -> list[Erased]:
    """Publish again the latest erasure request of every member erased (at `since` or later):
    what was lost with a restore is applied, what was not is a duplicate to the inboxes."""
    register = await read_register(settings)
    due = sorted(
        (e for e in register.values() if since is None or e.erased_at >= since),
        key=lambda e: (e.erased_at, e.member_id),
    )
    if due and not dry_run:
        await publish(settings, [e.request() for e in due])
    return due


@dataclass(frozen=True, slots=True)
class ServiceExport:
    service: str
    document: dict[str, Any] | None
    error: str | None = None

    def summary(self) -> str:
        if self.document is None:
            return f"failed: {self.error}"
        data: dict[str, list[Any]] = self.document.get("data", {})
        held = ", ".join(f"{name} {len(rows)}" for name, rows in data.items() if rows)
        erasures = len(self.document.get("erasures", []))
        return f"{held or 'nothing held'}; erasures {erasures}"


async def export(
    member_id: str,
    clients: Mapping[str, httpx.AsyncClient],
    *,
    on_service: Callable[[ServiceExport], None] = lambda done: None,
) -> list[ServiceExport]:
    """Every service's export of the member, in order, each reported as it arrives."""
    results = []
    for service, client in clients.items():
        try:
            response = await client.get(f"/v1/members/{member_id}/export")
            if response.status_code == 200:
                result = ServiceExport(service, response.json())
            else:
                problem = response.json() if response.content else {}
                detail = problem.get("detail") or problem.get("title") or response.text[:200]
                result = ServiceExport(service, None, f"{response.status_code} {detail}")
        except httpx.HTTPError as exc:
            result = ServiceExport(service, None, f"{type(exc).__name__}: {exc}")
        on_service(result)
        results.append(result)
    return results


def document(member_id: str, exports: Iterable[ServiceExport]) -> bytes:
    """The one file: every service's document under its name."""
    return orjson.dumps(
        {
            "member_id": member_id,
            "exported_at": datetime.now(UTC).isoformat(),
            "services": {e.service: e.document for e in exports},
        },
        option=orjson.OPT_INDENT_2,
    )
