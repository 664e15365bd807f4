"""What a spend request carries over HTTP: its Idempotency-Key, and who is acting."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from loyalty_points.spending.errors import MissingIdempotencyKey
from loyalty_shared.http.auth import Principal
from loyalty_shared.http.openapi import REQUIRED_IN_OPENAPI

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Required. The same key with the same body answers the same again and "
        "spends once; with another body it is 422.",
        # None when missing, answered 400 `idempotency-key-required` by `required`
        json_schema_extra={REQUIRED_IN_OPENAPI: True},
    ),
]


def required(key: str | None) -> str:
    if not key:
        raise MissingIdempotencyKey("send an Idempotency-Key header (a UUID per attempt)")
    return key


def actor_of(principal: Principal, member_id: str) -> str:
    """Who moved the points, for the ledger: the member, or an admin acting for them."""
    return f"{'admin' if principal.subject != member_id else 'member'}:{principal.subject}"
