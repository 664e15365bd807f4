"""The local gateway's rate limits: the route table's policy (`RATE_LIMITS`, what the Kubernetes
BackendTrafficPolicy enforces) per client IP, in memory, with the `limits` library's moving
window."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from loyalty_devkit.gateway.routes import RateLimit


class ClientLimits:
    """Counts each client's requests against every limit that selects them."""

    def __init__(self, policy: Sequence[RateLimit]) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items: list[tuple[RateLimit, RateLimitItem]] = [
            (limit, parse(limit.notation)) for limit in policy
        ]

    async def retry_after(self, client: str, method: str, path: str) -> tuple[str, int] | None:
        """None when the request may go on (it is counted); else the limit it spent and the
        seconds until that limit lets the client in again."""
        for limit, item in self._items:
            if limit.applies(method, path) and not await self._limiter.hit(
                item, limit.name, client
            ):
                stats = await self._limiter.get_window_stats(item, limit.name, client)
                return limit.name, max(1, math.ceil(stats.reset_time - time.time()))
        return None
