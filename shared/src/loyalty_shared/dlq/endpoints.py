"""GET /v1/dead-letters (and /summary, /{id}) and the replays, admin only: a dead letter holds
the record as it came (a member's enrolment carries their name and email), included by every
service."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from loyalty_shared import audit_log
from loyalty_shared.dlq import repository
from loyalty_shared.dlq.replay import Replayer
from loyalty_shared.dlq.schemas import (
    DeadLetter,
    DeadLetterCount,
    DeadLetterEntry,
    DeadLetterPage,
    DeadLetterSummary,
    Header,
    ReplayFilter,
    ReplayReport,
    ReplayResult,
)
from loyalty_shared.http.auth import AdminAccess, Principal, is_member_id
from loyalty_shared.http.db import SingleStatement, Transaction
from loyalty_shared.http.paging import PageCursor, before_id
from loyalty_shared.http.problems import ProblemError, problem_responses
from loyalty_shared.http.state import depends_on

router = APIRouter(prefix="/v1/dead-letters", tags=["dead letters"])

#: At most this many are replayed by one bulk call (each in the call's one transaction).
REPLAY_BATCH = 200
#: A dead letter's id as a path names it (a bigint).
DeadLetterId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The dead letter's id")]


class NoSuchDeadLetter(ProblemError):
    status = 404
    title = "No such dead letter"
    type = "urn:loyalty:problem:no-such-dead-letter"


class AlreadyReplayed(ProblemError):
    status = 409
    title = "Already replayed"
    type = "urn:loyalty:problem:already-replayed"


ReplayerDep = Annotated[Replayer, depends_on(Replayer)]


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode(errors="replace")


def _entry(row: Any) -> dict[str, Any]:
    fields = dict(row)
    fields["key"] = _text(fields.pop("message_key"))
    return fields


@router.get(
    "/summary",
    summary="Dead letters of the last N hours by topic and reason (admin)",
    responses=problem_responses(401, 403),
)
async def dead_letter_summary(
    _: AdminAccess,
    pool: SingleStatement,
    replayer: ReplayerDep,
    hours: Annotated[int, Query(ge=1, le=720)] = 24,
) -> DeadLetterSummary:
    since = replayer.clock() - timedelta(hours=hours)
    rows = await repository.summary(pool, since)
    return DeadLetterSummary(
        hours=hours, since=since, items=[DeadLetterCount(**dict(r)) for r in rows]
    )


@router.get(
    "",
    summary="Dead letters, newest first, by topic and reason (admin)",
    responses=problem_responses(401, 403),
)
async def list_dead_letters(
    _: AdminAccess,
    pool: SingleStatement,
    topic: Annotated[str | None, Query(max_length=249)] = None,
    code: Annotated[str | None, Query(max_length=100)] = None,
    waiting: Annotated[bool, Query(description="Only those not replayed yet")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: PageCursor = None,
) -> DeadLetterPage:
    rows = await repository.page(
        pool,
        topic=topic,
        code=code,
        waiting=waiting,
        before_id=before_id(cursor),
        limit=limit + 1,
    )
    items = [DeadLetterEntry(**_entry(r)) for r in rows[:limit]]
    return DeadLetterPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


@router.get(
    "/{dead_letter_id}",
    summary="A dead letter: the record as it came, its headers, why it was refused (admin)",
    responses=problem_responses(401, 403, 404),
)
async def get_dead_letter(
    dead_letter_id: DeadLetterId, _: AdminAccess, conn: Transaction
) -> DeadLetter:
    row = await repository.one(conn, dead_letter_id)
    if row is None:
        raise NoSuchDeadLetter(f"no dead letter {dead_letter_id}")
    fields = _entry(row)
    names, values = fields.pop("header_names"), fields.pop("header_values")
    return DeadLetter(
        **{k: v for k, v in fields.items() if k != "payload"},
        headers=[Header(name=n, value=_text(v) or "") for n, v in zip(names, values, strict=True)],
        value=_text(fields["payload"]),
    )


async def _replay(
    conn: Any, replayer: Replayer, principal: Principal, dead_letter_id: int
) -> ReplayResult:
    result = await replayer.replay(conn, dead_letter_id, by=principal.subject)
    letter = await repository.one(conn, dead_letter_id)
    assert letter is not None
    key = _text(letter["message_key"])
    await audit_log.record(
        conn,
        principal=principal,
        action="dead_letter.replay",
        member_id=key if key is not None and is_member_id(key) else None,
        details={
            "dead_letter_id": dead_letter_id,
            "topic": letter["topic"],
            "code": letter["code"],
            "outcome": result.outcome,
        },
    )
    return result


@router.post(
    "/{dead_letter_id}/replay",
    summary="Replay a dead letter into this service after a fix (admin)",
    description=(
        "The record goes through decoding, the inbox and its handler again, in this service "
        "only (the services that applied it are not asked again): `applied`, `duplicate`, or "
        "`refused` with a new dead letter. A dead letter is replayed once (409 after)."
    ),
    responses=problem_responses(401, 403, 404, 409),
)
async def replay_dead_letter(
    dead_letter_id: DeadLetterId,
    principal: AdminAccess,
    conn: Transaction,
    replayer: ReplayerDep,
) -> ReplayResult:
    row = await repository.one(conn, dead_letter_id, lock=True)
    if row is None:
        raise NoSuchDeadLetter(f"no dead letter {dead_letter_id}")
    if row["replayed_at"] is not None:
        raise AlreadyReplayed(
            f"dead letter {dead_letter_id} was replayed at {row['replayed_at'].isoformat()}"
        )
    return await _replay(conn, replayer, principal, dead_letter_id)


@router.post(
    "/replay",
    summary="Replay the waiting dead letters of a topic and reason, oldest first (admin)",
    description=(
        f"At most {REPLAY_BATCH} per call, in one transaction; `remaining` says how many "
        "still wait (call again)."
    ),
    responses=problem_responses(401, 403),
)
async def replay_dead_letters(
    body: ReplayFilter, principal: AdminAccess, conn: Transaction, replayer: ReplayerDep
) -> ReplayReport:
    ids = await repository.waiting_ids(conn, topic=body.topic, code=body.code, limit=REPLAY_BATCH)
    outcomes: dict[str, int] = {}
    for dead_letter_id in ids:
        result = await _replay(conn, replayer, principal, dead_letter_id)
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    remaining = await repository.count_waiting(conn, topic=body.topic, code=body.code)
    return ReplayReport(replayed=len(ids), outcomes=outcomes, remaining=remaining)
