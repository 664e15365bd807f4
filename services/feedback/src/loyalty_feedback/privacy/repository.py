"""What erasing a member takes from the feedback service's own tables: their comments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from loyalty_shared.db import Connection


async def erase(conn: Connection, member_ids: Sequence[str], now: datetime) -> None:
    """Comments go; scores, orders and insight stay (they identify no one)."""
    await conn.execute(
        """
        UPDATE feedback SET comment = NULL
        WHERE member_id = ANY($1::text[]) AND comment IS NOT NULL
        """,
        list(member_ids),
    )
