"""The input events the e-commerce backend publishes (contract section 1), version 1.

Frozen and strict about what the contract says; unknown fields are ignored (tolerant reader).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool, StrictInt

from loyalty_shared.events.decoding import Decoded
from loyalty_shared.events.fields import (
    CurrencyCode,
    DateText,
    Id,
    NonNegativeMoney,
    PositiveMoney,
)


class _Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class LineItem(_Contract):
    sku: Id
    category: Annotated[str, Field(min_length=1, max_length=128)]
    quantity: Annotated[StrictInt, Field(ge=1)]
    unit_price: NonNegativeMoney


class PurchaseCompletedV1(_Contract):
    TYPE: ClassVar[str] = "purchase.completed"

    order_id: Id
    member_id: Id
    channel: Literal["online", "store", "app"]
    store_id: Id | None = None
    currency: CurrencyCode
    total: NonNegativeMoney
    items: list[LineItem]


class PurchaseRefundedV1(_Contract):
    TYPE: ClassVar[str] = "purchase.refunded"

    order_id: Id
    refund_id: Id
    member_id: Id
    currency: CurrencyCode
    amount: PositiveMoney
    items: list[LineItem] | None = None


class Consents(_Contract):
    email: StrictBool
    sms: StrictBool
    push: StrictBool


class MemberProfileV1(_Contract):
    """Data of both `member.enrolled` and `member.updated`: the member's whole profile."""

    member_id: Id
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: EmailStr | None = None
    phone: Annotated[str, Field(min_length=3, max_length=32)] | None = None
    locale: Literal["zh-CN", "en"] = "zh-CN"
    birthday: DateText | None = None
    consents: Consents


MEMBER_ENROLLED = "member.enrolled"
MEMBER_UPDATED = "member.updated"

#: The purchase events as their handlers receive them.
Purchase = Decoded[PurchaseCompletedV1]
Refund = Decoded[PurchaseRefundedV1]
