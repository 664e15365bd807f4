"""The notifications service's typed state, built by `create_app` and reached by routes as
`State`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from loyalty_notifications.rendering.renderer import Renderer
from loyalty_notifications.settings import NotificationsSettings
from loyalty_notifications.triggers.planner import Planner
from loyalty_shared.clock import Clock
from loyalty_shared.http.state import depends_on


@dataclass(frozen=True, slots=True)
class NotificationsState:
    settings: NotificationsSettings
    planner: Planner
    renderer: Renderer
    clock: Clock


State = Annotated[NotificationsState, depends_on(NotificationsState)]
