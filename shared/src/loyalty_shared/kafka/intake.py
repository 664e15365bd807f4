"""For a service whose behaviour for an event type has not landed yet: the events are validated
(invalid ones go to the dead-letter topic) and recorded in the inbox, and nothing else happens.

This is a stage of construction, not a feature: the services that use it say so in their OpenAPI
description and in the README.
"""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_shared.db import Connection
from loyalty_shared.events.decoding import Decoded
from loyalty_shared.kafka.routing import Refusal


async def record_only(conn: Connection, events: Sequence[Decoded]) -> Sequence[Refusal]:
    return ()
