"""The backtest: a year or less of stored purchases earned again under a candidate program, by
the same rules the consumer runs, streamed in batches (memory bounded by one batch), stopped when
the client is gone. Writes nothing. What it assumes: docs/finance.md#backtests."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from loyalty_points.backtest import repository
from loyalty_points.backtest.repository import StoredPurchase
from loyalty_points.earning.rules import EarningRules, Order
from loyalty_shared.db import Connection
from loyalty_shared.http.problems import ProblemError
from loyalty_shared.program.schema import Program

BATCH = 2000
_NONE: dict[str, Decimal] = {}


class ClientGone(ProblemError):
    status = 499  # nobody reads it: the client closed the connection (nginx's code)
    title = "Client closed the request"
    type = "urn:loyalty:problem:client-gone"


@dataclass(slots=True)
class TierTotals:
    purchases: int = 0
    current: int = 0
    candidate: int = 0


@dataclass(slots=True)
class Replay:
    by_tier: dict[str, TierTotals] = field(default_factory=dict)
    #: the candidate's points less the current ones, both net of the purchases' refunds
    net_added: int = 0
    without_categories: int = 0

    @property
    def purchases(self) -> int:
        return sum(t.purchases for t in self.by_tier.values())

    @property
    def current(self) -> int:
        return sum(t.current for t in self.by_tier.values())

    @property
    def candidate(self) -> int:
        return sum(t.candidate for t in self.by_tier.values())


def _reversed(points: int, refunded: Decimal, total: Decimal) -> int:
    """What refunds of `refunded` take back of an order's `points` (contract section 2)."""
    if not refunded:
        return 0
    return int((points * refunded / total).to_integral_value(rounding=ROUND_FLOOR))


async def replay(
    conn: Connection,
    candidate: Program,
    *,
    since: datetime,
    until: datetime,
    client_gone: Callable[[], Awaitable[bool]],
) -> Replay:
    """Earn every purchase whose `time` is in [since, until) again under `candidate`, at the
    tier it earned at; `client_gone` is asked after each batch (ClientGone stops it)."""
    rules = EarningRules(candidate)
    result = Replay()
    batches = repository.purchases(
        conn, since=since, until=until, with_categories=rules.uses_categories, batch=BATCH
    )
    async with contextlib.aclosing(batches):  # a stop leaves no fetch running on `conn`
        async for rows in batches:
            _earn_again(rules, rows, result)
            if await client_gone():
                raise ClientGone("the client closed the connection; the backtest stopped")
    return result


def _earn_again(rules: EarningRules, rows: Sequence[StoredPurchase], result: Replay) -> None:
    by_tier = result.by_tier
    for p in rows:
        categories = p.categories
        values = {k: Decimal(v) for k, v in categories.items()} if categories else _NONE
        earned = rules.earn_order(
            Order(p.total, p.currency, p.channel, values), purchased_at=p.purchased_at, tier=p.tier
        ).points
        totals = by_tier.get(p.tier) or by_tier.setdefault(p.tier, TierTotals())
        totals.purchases += 1
        totals.current += p.points
        totals.candidate += earned
        result.net_added += (
            earned
            - _reversed(earned, p.refunded_total, p.total)
            - (p.points - _reversed(p.points, p.refunded_total, p.total))
        )
        result.without_categories += not p.has_categories
