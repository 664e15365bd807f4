"""A service's typed state on its app: one object built in `create_app` (the program, the clock,
...), reached by routes through an `Annotated` dependency instead of loose `app.state`
attributes."""

from __future__ import annotations

from typing import TypeVar

from fastapi import FastAPI, Request

T = TypeVar("T")


def attach_state(app: FastAPI, state: object) -> None:
    app.state.service_state = state


def state_of(request: Request, kind: type[T]) -> T:
    """The service's state, as the type the service declared it."""
    state = request.app.state.service_state
    if not isinstance(state, kind):
        raise TypeError(f"the app holds {type(state).__name__}, not {kind.__name__}")
    return state
