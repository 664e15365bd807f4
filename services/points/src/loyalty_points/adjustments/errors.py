"""What can go wrong with an adjustment, with its HTTP status."""

from __future__ import annotations

from loyalty_shared.http.problems import Forbidden


class OverSupportLimit(Forbidden):
    """More points than `support_adjustment_limit` in one adjustment by `loyalty:support`: the
    caller's role may not make it (an admin may), so 403 rather than a fault in the request."""

    title = "Adjustment over the support limit"
    type = "urn:loyalty:problem:over-support-limit"
