"""The rewards catalogue: marketing creates, changes and retires rewards and uploads codes.

A limited reward's stock is its codes not issued yet: generated ones are made when the stock is
set (and made or taken back when it changes), uploaded ones are the pool. So a redemption takes
one code and nothing else, and running out of codes is running out of stock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from loyalty_points.rewards import repository
from loyalty_points.rewards.codes import new_codes
from loyalty_points.rewards.errors import (
    CatalogueRefusal,
    DuplicateCodes,
    RewardExists,
    RewardNotFound,
    RewardRetired,
)
from loyalty_points.rewards.repository import RewardRow, Terms
from loyalty_points.rewards.schemas import (
    CodesAdded,
    Reward,
    RewardDefinition,
    RewardPage,
    coupon_terms,
)
from loyalty_shared.db import Connection

#: Codes made per statement when a stock is set.
_CODES_PER_STATEMENT = 10_000


def view(row: RewardRow) -> Reward:
    return Reward(
        reward_id=row.reward_id,
        name=row.name,
        points=row.points,
        codes="pool" if row.codes == "pool" else "generated",
        stock=row.stock,
        min_tier=row.min_tier,
        available_from=row.available_from,
        available_until=row.available_until,
        per_member_limit=row.per_member_limit,
        coupon=coupon_terms(row.coupon_value, row.coupon_currency, row.coupon_valid_days),
        status="retired" if row.status == "retired" else "active",
        created_at=row.created_at,
        updated_at=row.updated_at,
        retired_at=row.retired_at,
    )


def _terms(definition: RewardDefinition) -> Terms:
    return Terms(
        name=definition.name,
        points=definition.points,
        codes=definition.codes,
        unlimited=definition.codes == "generated" and definition.stock is None,
        min_tier=definition.min_tier,
        available_from=definition.available_from,
        available_until=definition.available_until,
        per_member_limit=definition.per_member_limit,
        coupon_value=definition.coupon.value,
        coupon_currency=definition.coupon.currency,
        coupon_valid_days=definition.coupon.valid_days,
    )


async def _current(conn: Connection, reward_id: str, *, lock: bool = False) -> RewardRow:
    row = await repository.reward(conn, reward_id, lock=lock)
    if row is None:
        raise RewardNotFound(f"no reward {reward_id!r} in the catalogue")
    return row


async def get(conn: Connection, reward_id: str) -> Reward:
    return view(await _current(conn, reward_id))


async def page(
    conn: Connection, *, cursor: str | None, limit: int, include_retired: bool
) -> RewardPage:
    rows = await repository.rewards_page(
        conn, after=cursor, limit=limit + 1, include_retired=include_retired
    )
    more = len(rows) > limit
    return RewardPage(
        items=[view(r) for r in rows[:limit]],
        next_cursor=rows[limit - 1].reward_id if more else None,
    )


async def create(
    conn: Connection, *, reward_id: str, definition: RewardDefinition, now: datetime
) -> Reward:
    if not await repository.insert_reward(conn, reward_id, _terms(definition), now):
        raise RewardExists(f"reward {reward_id!r} exists; change it with PUT")
    if definition.codes == "generated" and definition.stock:
        await add_generated(conn, reward_id, definition.stock)
    return await get(conn, reward_id)


async def change(
    conn: Connection, *, reward_id: str, definition: RewardDefinition, now: datetime
) -> Reward:
    """The whole definition is replaced; `stock` sets the units left (codes are made or taken
    back to match)."""
    current = await _current(conn, reward_id, lock=True)
    if current.status == "retired":
        raise RewardRetired(f"reward {reward_id!r} is retired; create a new one")
    if definition.codes != current.codes:
        raise CatalogueRefusal(f"reward {reward_id!r} has {current.codes} codes; that is fixed")
    await repository.update_reward(conn, reward_id, _terms(definition), now)
    if definition.codes == "generated":
        have, want = current.stock or 0, definition.stock or 0
        if want > have:
            await add_generated(conn, reward_id, want - have)
        elif want < have:
            await repository.remove_units(conn, reward_id, have - want)
    return await get(conn, reward_id)


async def retire(conn: Connection, *, reward_id: str, now: datetime) -> Reward:
    """No more redemptions; coupons issued stay valid. Retiring twice answers the same."""
    await _current(conn, reward_id, lock=True)
    await repository.retire(conn, reward_id, now)
    return await get(conn, reward_id)


async def upload_codes(conn: Connection, *, reward_id: str, codes: Sequence[str]) -> CodesAdded:
    """All the codes are stored, or none: a code given twice, or known already (to any reward),
    refuses the upload."""
    current = await _current(conn, reward_id, lock=True)
    if current.status == "retired":
        raise RewardRetired(f"reward {reward_id!r} is retired")
    if current.codes != "pool":
        raise CatalogueRefusal(f"reward {reward_id!r} makes its own codes; set its stock instead")
    twice = sorted(code for code, n in Counter(codes).items() if n > 1)
    if twice:
        raise DuplicateCodes(f"{len(twice)} codes are given more than once: {_some(twice)}")
    stored = await repository.add_codes(conn, reward_id, codes)
    if len(stored) < len(codes):
        known = sorted(set(codes) - stored)
        raise DuplicateCodes(f"{len(known)} codes are known already: {_some(known)}")
    return CodesAdded(
        reward_id=reward_id, added=len(stored), stock=(await _current(conn, reward_id)).stock or 0
    )


def _some(items: Sequence[str]) -> str:
    return ", ".join(items[:10]) + (", ..." if len(items) > 10 else "")


async def add_generated(conn: Connection, reward_id: str, count: int) -> None:
    """`count` new units of a generated reward's stock."""
    while count > 0:
        made = new_codes(min(count, _CODES_PER_STATEMENT))
        count -= len(await repository.add_codes(conn, reward_id, made))
