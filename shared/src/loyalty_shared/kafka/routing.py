"""What a service tells the consumer runner: for each topic and event type, the data model to
validate against and the handler that applies a batch of such events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias

from loyalty_shared.db import Connection
from loyalty_shared.events.decoding import Decoded, InvalidEvent, M


@dataclass(frozen=True, slots=True)
class Refusal:
    """An event the handler would not apply (it wrote nothing for it): it is dead-lettered."""

    event_id: str
    error: InvalidEvent


#: Applies events of one type, in order, with the batch's connection, set-based where it can.
#: It returns the events it refuses and must have written nothing for them. Events reach it
#: once: duplicates were already dropped by the inbox.
BatchHandler: TypeAlias = Callable[[Connection, Sequence[Decoded[M]]], Awaitable[Sequence[Refusal]]]


@dataclass(frozen=True, slots=True)
class Route(Generic[M]):
    """Events of one type: validated as `model`, so `handler` receives them as that model."""

    model: type[M]
    handler: BatchHandler[M]


Routes = Mapping[str, Mapping[str, Route[Any]]]  # topic -> event type -> route
