"""SQL of spends refused under an Idempotency-Key."""

from __future__ import annotations

from dataclasses import dataclass

from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class Refusal:
    request_hash: str
    detail: str


async def refusal(conn: Connection, *, kind: str, member_id: str, key: str) -> Refusal | None:
    row = await conn.fetchrow(
        """
        SELECT request_hash, detail FROM spend_refusal
        WHERE member_id = $1 AND kind = $2 AND idempotency_key = $3
        """,
        member_id,
        kind,
        key,
    )
    return Refusal(row["request_hash"], row["detail"]) if row is not None else None


async def record_refusal(
    conn: Connection, *, kind: str, member_id: str, key: str, request_hash: str, detail: str
) -> None:
    await conn.execute(
        """
        INSERT INTO spend_refusal (member_id, kind, idempotency_key, request_hash, detail)
        VALUES ($1, $2, $3, $4, $5)
        """,
        member_id,
        kind,
        key,
        request_hash,
        detail,
    )
