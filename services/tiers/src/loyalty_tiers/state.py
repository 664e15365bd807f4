"""The tiers service's typed state, built by `create_app` and reached by routes as `State`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from loyalty_shared.clock import Clock
from loyalty_shared.http.state import depends_on
from loyalty_shared.program.schema import Program


@dataclass(frozen=True, slots=True)
class TiersState:
    program: Program
    clock: Clock


State = Annotated[TiersState, depends_on(TiersState)]
