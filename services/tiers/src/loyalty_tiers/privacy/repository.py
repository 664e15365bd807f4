"""What erasing a member takes from the tiers service's own tables: overrides' free text."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from loyalty_shared.db import Connection
from loyalty_shared.privacy.erasure import ERASED


async def erase(conn: Connection, member_ids: Sequence[str], now: datetime) -> None:
    """The reason an operator wrote for an override (on the member's tier and as the cause of
    its history entry) may say anything about the person; the override itself, the tier, its
    history and the spend stay."""
    await conn.execute(
        """
        UPDATE member_tier SET override_reason = $2
        WHERE member_id = ANY($1::text[]) AND override_reason IS NOT NULL
        """,
        list(member_ids),
        ERASED,
    )
    await conn.execute(
        """
        UPDATE tier_history SET cause = $2
        WHERE member_id = ANY($1::text[]) AND reason = 'admin' AND cause IS DISTINCT FROM $2
        """,
        list(member_ids),
        ERASED,
    )
