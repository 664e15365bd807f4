"""Which purchases are sampled for a survey: a pure function of the order id, so a replay, a
second replica or a rebuilt database picks exactly the same orders."""

from __future__ import annotations

import hashlib

_SCALE = float(2**64)


def sampled(order_id: str, rate: float) -> bool:
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    digest = hashlib.sha256(f"loyalty:survey-sample:{order_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE < rate
