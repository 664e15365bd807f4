"""member.erasure_requested in the notifications service (its events carry no personal data)."""

from __future__ import annotations

from loyalty_notifications.privacy import repository
from loyalty_shared.clock import Clock
from loyalty_shared.events.commerce import ErasureRequestedV1
from loyalty_shared.kafka.routing import Route
from loyalty_shared.privacy.erasure import erasure_route


def erasure(clock: Clock) -> Route[ErasureRequestedV1]:
    return erasure_route(service="notifications", erase=repository.erase, clock=clock)
