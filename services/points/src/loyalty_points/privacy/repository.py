"""What erasing a member takes from the points service's own tables: the free text operators
wrote into the member's ledger, and whatever the shop put beyond the contract into the member's
refunds still waiting for their purchase (`parked_refund`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseRefundedV1
from loyalty_shared.events.decoding import RawRecord
from loyalty_shared.privacy import records
from loyalty_shared.privacy.erasure import ERASED

_REFUNDS = {PurchaseRefundedV1.TYPE: PurchaseRefundedV1}


async def erase(conn: Connection, member_ids: Sequence[str], now: datetime) -> None:
    """The ledger is append-only but for this: an entry's `reason` (an adjustment's, written by
    an operator) becomes `ERASED`; amounts, kinds, times and actors stay."""
    await conn.execute(
        """
        UPDATE ledger_entry SET details = jsonb_set(details, '{reason}', to_jsonb($2::text))
        WHERE member_id = ANY($1::text[]) AND details ? 'reason' AND details->>'reason' <> $2
        """,
        list(member_ids),
        ERASED,
    )
    await _minimise_parked_refunds(conn, set(member_ids))


async def _minimise_parked_refunds(conn: Connection, member_ids: set[str]) -> None:
    rows = await conn.fetch(
        """
        SELECT event_id, topic, message_key, payload, header_names, header_values
        FROM parked_refund ORDER BY parked_at, event_id FOR UPDATE
        """
    )
    cut = []
    for row in rows:
        raw = RawRecord(
            row["topic"],
            row["message_key"],
            row["payload"],
            tuple(zip(row["header_names"], row["header_values"], strict=True)),
        )
        if records.member_of(raw.value) not in member_ids:
            continue
        smaller = records.minimal(raw, _REFUNDS)
        if smaller is not None:
            cut.append(
                (
                    row["event_id"],
                    smaller.value,
                    [k for k, _ in smaller.headers],
                    [v for _, v in smaller.headers],
                )
            )
    if cut:
        await conn.executemany(
            """
            UPDATE parked_refund SET payload = $2, header_names = $3, header_values = $4
            WHERE event_id = $1
            """,
            cut,
        )
