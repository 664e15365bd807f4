"""A request that carries the app's `traceparent` keeps its trace in the events it causes, also
when this service records no spans itself (no exporter configured: the default)."""

from __future__ import annotations

import httpx

from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.kafka.topics import LOYALTY_POINTS
from tests.support.kafka import read_all
from tests.support.tokens import bearer

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


async def test_an_adjustment_made_within_a_trace_emits_its_event_in_that_trace(
    points_api: httpx.AsyncClient, broker: LocalBroker
) -> None:
    response = await points_api.post(
        "/v1/members/m-trace-2/adjustments",
        json={"points": 50, "reason": "apology for a late parcel"},
        headers={**bearer("ops-1", admin=True), "traceparent": TRACEPARENT},
    )
    assert response.status_code == 201, response.text

    [record] = await read_all(broker.bootstrap, LOYALTY_POINTS, expect=1)

    headers = dict(record.headers)
    assert headers["traceparent"].decode().split("-")[1] == TRACE_ID
