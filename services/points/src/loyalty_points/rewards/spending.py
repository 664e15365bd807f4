"""The points of a reward redemption, moved by the ledger's own functions: the one place where
rewards spend and give back points (to be pointed at the shared spend module)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from loyalty_points.ledger import repository as ledger
from loyalty_points.redemptions import repository as redemptions
from loyalty_points.redemptions import service as redemption_service
from loyalty_points.redemptions.errors import InsufficientPoints
from loyalty_points.redemptions.service import emit_redeemed
from loyalty_shared.db import Connection


async def spend(
    conn: Connection,
    *,
    member_id: str,
    redemption_id: UUID,
    points: int,
    reward_id: str,
    request_hash: str,
    actor: str,
    at: datetime,
) -> None:
    """Spend `points`, oldest first, as a points redemption with the reward redemption's id
    (ledger entry, lots, `points.redeemed`). The caller holds the member's account lock
    (`ledger.lock_account`) and has checked the points are available; if the lots cannot give
    them all, the whole redemption is refused (rolled back)."""
    row = await redemptions.insert(
        conn,
        redemption_id=redemption_id,
        member_id=member_id,
        key=f"reward:{redemption_id}",
        request_hash=request_hash,
        points=points,
        reward=reward_id,
    )
    entry_id = await ledger.record(
        conn,
        ledger.Movement(
            member_id=member_id,
            kind="redeem",
            actor=actor,
            occurred_at=at,
            available_delta=-points,
            redemption_id=redemption_id,
            details={"reward_id": reward_id},
        ),
    )
    taken = await ledger.take_from_lots(conn, member_id=member_id, points=points, entry_id=entry_id)
    if taken < points:
        raise InsufficientPoints(f"{points} points asked, {taken} spendable")
    await emit_redeemed(conn, row, status="completed")


async def give_back(conn: Connection, *, member_id: str, redemption_id: UUID, actor: str) -> None:
    """The points go back to the lots they came from (the redemption is cancelled)."""
    await redemption_service.cancel(
        conn, member_id=member_id, redemption_id=redemption_id, actor=actor
    )
