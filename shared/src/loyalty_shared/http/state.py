"""Typed state on an app: each object built by the app factory (the shared `Runtime`, a service's
own state with its program and clock) is found again by its type, through `state_of` or an
`Annotated` dependency (`depends_on`), never as a loose `app.state` attribute."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Depends, Request
from starlette.applications import Starlette

T = TypeVar("T")


def attach_state(app: Starlette, state: object) -> None:
    """Keep `state` on the app, to be found by its type."""
    _states(app)[type(state)] = state


def state_of(source: Request | Starlette, kind: type[T]) -> T:
    """The app's `kind` (the app of a request, or the app itself)."""
    app = source.app if isinstance(source, Request) else source
    state = _states(app).get(kind)
    if not isinstance(state, kind):
        raise LookupError(f"the app holds no {kind.__name__} (is it running?)")
    return state


def depends_on(kind: type[T]) -> Any:
    """A dependency giving the app's `kind`: `State = Annotated[TiersState, depends_on(...)]`."""

    async def dependency(request: Request) -> T:  # async: a plain def would run in a thread
        return state_of(request, kind)

    return Depends(dependency)


def _states(app: Starlette) -> dict[type, object]:
    try:
        states: dict[type, object] = app.state.typed
    except AttributeError:
        states = app.state.typed = {}
    return states
