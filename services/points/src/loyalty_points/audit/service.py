"""`loyalty audit`: recompute every member's balances from the ledger and report differences
(read-only, in one repeatable-read snapshot, so it can run against a live database); and
`loyalty-points rebuild-balances`, which makes the balances the sums of their ledger again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from loyalty_points.audit import repository


@dataclass
class AuditReport:
    members: int
    differences: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not any(self.differences.values())

    def lines(self) -> list[str]:
        out = [f"members={self.members} differences={sum(map(len, self.differences.values()))}"]
        for check, rows in self.differences.items():
            for row in rows[:50]:
                out.append(
                    f"  {check}: member {row['member_id']} recorded {row['recorded']} "
                    f"recomputed {row['recomputed']}"
                )
        return out


async def audit(dsn: str) -> AuditReport:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            found = await repository.differences(conn)
            members = await repository.members(conn)
    finally:
        await conn.close()
    return AuditReport(
        members=members,
        differences={name: [asdict(r) for r in rows] for name, rows in found.items() if rows},
    )


async def rebuild_balances(dsn: str) -> list[str]:
    """Rewrite the balances projection from the ledger (the ledger is the truth); returns the
    members whose balances changed. Writers wait on the table lock for the few moments it takes."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE points_account IN SHARE ROW EXCLUSIVE MODE")
            changed = await repository.rebuild_balances(conn)
    finally:
        await conn.close()
    return changed
