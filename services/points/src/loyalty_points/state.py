"""What the points service's routes and handlers share: the program file, the program in force
(with the campaigns started at run time), the clock and the backtests' limits."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from loyalty_points.campaigns.in_force import ProgramInForce
from loyalty_points.ledger.expiry import LotExpiry
from loyalty_shared.clock import Clock
from loyalty_shared.http.state import depends_on
from loyalty_shared.program.schema import Program


@dataclass(frozen=True)
class PointsState:
    #: the program file
    program: Program
    clock: Clock
    #: the program file plus the campaigns started at run time that are in force
    in_force: ProgramInForce
    backtest_timeout_s: float
    #: one backtest at a time per process: it holds a connection and a core while it runs
    backtest_slot: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def expiry(self) -> LotExpiry:
        """The program's expiry policy, which dates lots and, rolling, pushes them on a spend."""
        return LotExpiry.of(self.program)


State = Annotated[PointsState, depends_on(PointsState)]
