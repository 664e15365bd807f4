"""The program in force: the program file plus the campaigns started at run time that are in
force now, cached between changes (the consumer asks once per batch)."""

from __future__ import annotations

from datetime import datetime

from loyalty_points.campaigns import repository
from loyalty_points.campaigns.campaign import rules_with
from loyalty_points.earning.rules import EarningRules
from loyalty_shared.db import Connection
from loyalty_shared.program.schema import Program


class ProgramInForce:
    """The program file (`base`) and its rules with the campaigns in force: one small query per
    consumer batch or request, compiled again only when the campaigns in force change."""

    def __init__(self, base: Program) -> None:
        self.base = base
        self._key: tuple[tuple[str, int | None], ...] = ()
        self._rules = EarningRules(base)

    async def rules(self, conn: Connection, now: datetime) -> EarningRules:
        """The rules a purchase processed at `now` earns under."""
        campaigns = await repository.in_force(conn, now)
        key = tuple((c.campaign_id, c.version) for c in campaigns)
        if key != self._key:
            self._rules, self._key = rules_with(self.base, campaigns), key
        return self._rules
