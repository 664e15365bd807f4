"""What erasing a member takes from the points service's own tables: the free text operators
wrote into the member's ledger and the birthday (parked refunds are every service's:
loyalty_shared.privacy)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from loyalty_points.abuse import repository as abuse
from loyalty_points.birthdays import repository as birthdays
from loyalty_shared.db import Connection
from loyalty_shared.events.commerce import PurchaseRefundedV1
from loyalty_shared.privacy.erasure import ERASED

_REFUNDS = {PurchaseRefundedV1.TYPE: PurchaseRefundedV1}


async def erase(conn: Connection, member_ids: Sequence[str], now: datetime) -> None:
    """The ledger is append-only but for this: an entry's `reason` (an adjustment's, written by
    an operator) becomes `ERASED`; amounts, kinds, times and actors stay. The birthday goes
    (so no birthday points follow). A review keeps its decision, not the operator's words."""
    await birthdays.erase(conn, member_ids)
    await abuse.erase_reasons(conn, member_ids, ERASED)
    await conn.execute(
        """
        UPDATE ledger_entry SET details = jsonb_set(details, '{reason}', to_jsonb($2::text))
        WHERE member_id = ANY($1::text[]) AND details ? 'reason' AND details->>'reason' <> $2
        """,
        list(member_ids),
        ERASED,
    )
