"""`GET /v1/members/{member_id}/export`: one JSON document of everything a service holds about a
member (contract 5.4), the same on every service. A service names its holdings as sections:
whole rows of its tables (`table`, every column, so a column added later is exported without
anyone remembering to) and the records it parks for the member (`parked`); every export also
holds the dead letters about the member (`dead_letter`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from loyalty_shared.audit_log import record
from loyalty_shared.clock import Clock, system_clock
from loyalty_shared.db import Connection
from loyalty_shared.http.auth import MemberReadAccess
from loyalty_shared.http.db import Transaction
from loyalty_shared.http.problems import problem_responses
from loyalty_shared.privacy import records, repository

#: Reads one kind of holding: the member's rows as JSON-ready dicts.
Section = Callable[[Connection, str], Awaitable[list[dict[str, Any]]]]


def table(
    name: str, *, order_by: str, where: str = "member_id = $1", columns: str = "*"
) -> Section:
    """The rows of table `name` that match `where` (`$1`: the member id), every column unless
    told; a stored record (bytes) is exported as the JSON it holds."""
    sql = f"SELECT {columns} FROM {name} WHERE {where} ORDER BY {order_by}"

    async def read(conn: Connection, member_id: str) -> list[dict[str, Any]]:
        return await repository.rows_where(conn, sql, member_id)

    return read


def parked(consumer: str) -> Section:
    """The records this service parks for the member (refunds waiting for their purchase), each
    as the event it is."""

    async def read(conn: Connection, member_id: str) -> list[dict[str, Any]]:
        return [
            {
                "event_id": p.event_id,
                "topic": p.raw.topic,
                "parked_at": p.parked_at,
                "event": orjson.loads(p.raw.value or b"null"),
            }
            for p in await repository.parked(conn, consumer, lock=False)
            if records.member_of(p.raw.value, p.raw.headers) == member_id
        ]

    return read


#: The dead letters the service keeps for operators about the member (keyed by them): every
#: service has them, so every export shows them.
DEAD_LETTERS = table(
    "dead_letter",
    columns="id, position, topic, code, detail, event_type, event_id, payload, header_names, "
    "dead_lettered_at, replayed_at, replay_outcome",
    where="message_key = convert_to($1, 'UTF8')",
    order_by="id",
)


class ErasureEntry(BaseModel):
    request_id: str = Field(description="The id of the member.erasure_requested event")
    requested_at: datetime
    erased_at: datetime


class MemberExport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "m-1001",
                    "service": "tiers",
                    "exported_at": "2026-12-05T10:00:00+00:00",
                    "erasures": [],
                    "data": {
                        "member_tier": [
                            {"member_id": "m-1001", "tier": "silver", "qualifying_spend": "6200.00"}
                        ],
                        "dead_letter": [],
                    },
                }
            ]
        }
    )

    member_id: str
    service: str
    exported_at: datetime
    erasures: list[ErasureEntry] = Field(
        description="Erasures this service applied to the member, oldest first"
    )
    data: dict[str, list[dict[str, Any]]] = Field(
        description="Everything the service holds about the member: by table (or kind of "
        "record), every row with every column"
    )


def export_router(
    *,
    service: str,
    sections: Mapping[str, Section],
    clock: Clock = system_clock,
    before: Callable[[Connection, str], Awaitable[None]] | None = None,
) -> APIRouter:
    """`before`: what the service does first in the export's transaction (the points service
    writes down what time has decided for the member, so the export shows the balance time
    says)."""
    router = APIRouter(tags=["privacy"])

    @router.get(
        "/v1/members/{member_id}/export",
        summary="Everything this service holds about a member, as one JSON document",
        description=(
            "The member themself, support or an admin (contract 5.4). Every row of every "
            "table about the member with every column, and the erasures applied to them. "
            "Every export is recorded in the audit log (`member.export`). "
            "`loyalty member export ID` gathers the four services' documents into one file."
        ),
        responses=problem_responses(401, 403),
    )
    async def export_member(
        member_id: str, principal: MemberReadAccess, conn: Transaction
    ) -> MemberExport:
        # every export is recorded, the member's own included (contract 5.1)
        await record(conn, principal=principal, action="member.export", member_id=member_id)
        if before is not None:
            await before(conn, member_id)
        return MemberExport(
            member_id=member_id,
            service=service,
            exported_at=clock(),
            erasures=[
                ErasureEntry(
                    request_id=e.request_id, requested_at=e.requested_at, erased_at=e.erased_at
                )
                for e in await repository.erasures_of(conn, member_id)
            ],
            data={
                name: await read(conn, member_id)
                for name, read in {**sections, "dead_letter": DEAD_LETTERS}.items()
            },
        )

    return router
