"""member.erasure_requested in the points service: operators' free text erased, in the ledger
and in unpublished `points.adjusted` events."""

from __future__ import annotations

from loyalty_points.privacy import repository
from loyalty_shared.events.loyalty import PointsAdjustedV1
from loyalty_shared.privacy.erasure import erasure_route, replaced

ERASURE = erasure_route(
    service="points",
    erase=repository.erase,
    redactions={PointsAdjustedV1.TYPE: replaced("reason")},
)
