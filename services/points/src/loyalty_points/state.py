"""What the points service's routes and handlers share: the program in force and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from loyalty_shared.clock import Clock
from loyalty_shared.http.state import state_of
from loyalty_shared.program.schema import Program


@dataclass(frozen=True)
class PointsState:
    program: Program
    clock: Clock


async def _points_state(request: Request) -> PointsState:  # async: a plain def runs in a thread
    return state_of(request, PointsState)


State = Annotated[PointsState, Depends(_points_state)]
