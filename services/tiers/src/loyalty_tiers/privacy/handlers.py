"""member.erasure_requested in the tiers service (its events carry no personal data)."""

from __future__ import annotations

from loyalty_shared.privacy.erasure import erasure_route
from loyalty_tiers.privacy import repository

ERASURE = erasure_route(service="tiers", erase=repository.erase)
