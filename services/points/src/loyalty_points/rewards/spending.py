"""The points of a reward redemption, moved as a points redemption with the reward
redemption's id: the one place where rewards spend and give back points."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from loyalty_points.ledger.expiry import LotExpiry
from loyalty_points.redemptions import service as redemption_service
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
    expiry: LotExpiry,
    at: datetime,
) -> None:
    """Spend `points`, soonest to expire first (ledger entry, lots, `points.redeemed`; under a
    `rolling` `expiry`, the member's points' expiry pushed). The caller opened the member's
    account (`open_account`) and checked the points are available."""
    await redemption_service.complete(
        conn,
        redemption_id=redemption_id,
        member_id=member_id,
        key=f"reward:{redemption_id}",
        request_hash=request_hash,
        points=points,
        reward=reward_id,
        details={"reward_id": reward_id},
        actor=actor,
        expiry=expiry,
        now=at,
    )


async def give_back(
    conn: Connection, *, member_id: str, redemption_id: UUID, actor: str, now: datetime
) -> None:
    """The points go back to the lots they came from (the redemption is cancelled)."""
    await redemption_service.cancel(
        conn, member_id=member_id, redemption_id=redemption_id, actor=actor, now=now
    )
