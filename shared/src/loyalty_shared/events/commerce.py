"""The input events the e-commerce backend publishes (contract section 1), version 1.

Frozen and strict about what the contract says; unknown fields are ignored (tolerant reader).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
)

from loyalty_shared.events.decoding import Decoded, InvalidEvent
from loyalty_shared.events.fields import (
    CurrencyCode,
    DateText,
    Id,
    NonNegativeMoney,
    PositiveMoney,
    Rfc3339Time,
)


class _Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class LineItem(_Contract):
    sku: Id
    category: Annotated[str, Field(min_length=1, max_length=128)]
    quantity: Annotated[StrictInt, Field(ge=1)]
    unit_price: NonNegativeMoney


#: A code the shop accepted at checkout: one the platform issued, or one of the shop's own
#: (those are ignored), so anything short enough is read.
CouponText = Annotated[str, Field(min_length=1, max_length=128)]


class PurchaseCompletedV1(_Contract):
    TYPE: ClassVar[str] = "purchase.completed"

    order_id: Id
    member_id: Id
    channel: Literal["online", "store", "app"]
    store_id: Id | None = None
    currency: CurrencyCode
    total: NonNegativeMoney
    items: list[LineItem]
    #: Coupon codes used on the order (contract 5.2); each issued code counts once, by the
    #: first purchase that names it.
    coupons: Annotated[list[CouponText], Field(max_length=50)] | None = None


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


class MemberBirthdayV1(_Contract):
    """What the points service reads of `member.updated` (tolerant: the rest of the profile is
    the notifications service's): the birthday, for the birthday bonus.

    `birthday` is read as it came (any JSON value): one that is no `YYYY-MM-DD` date refuses the
    event in the points service alone, with its own code (`birthday_date`), not as a profile
    other services take."""

    member_id: Id
    birthday: Any = None

    def birthday_date(self) -> date | None:
        """The birthday, None without one; raises `InvalidEvent` (`invalid-birthday`) for a
        birthday that is no date."""
        if self.birthday is None:
            return None
        try:
            return _BIRTHDAY.validate_python(self.birthday)
        except ValidationError:
            raise InvalidEvent(
                "invalid-birthday", "birthday must be a date written YYYY-MM-DD"
            ) from None


_BIRTHDAY: TypeAdapter[date] = TypeAdapter(DateText)


class EnrolmentV1(MemberBirthdayV1):
    """What the points service reads of `member.enrolled`: who referred the new member, if
    anyone (contract 5.3), and the birthday."""

    referred_by: Id | None = None


MEMBER_ENROLLED = "member.enrolled"
MEMBER_UPDATED = "member.updated"


class ErasureRequestedV1(_Contract):
    """The member asked to be forgotten (contract 5.4): every service erases what identifies
    them and answers with `privacy.erased` on `loyalty.privacy`."""

    TYPE: ClassVar[str] = "member.erasure_requested"

    member_id: Id
    requested_at: Rfc3339Time


class MemberActionV1(_Contract):
    """Something the member did that the program may reward (contract 5.3): a review written, a
    profile completed, a visit to a store. `action_id` is unique per action, whatever the event
    id; `occurred_at` defaults to the event's `time`."""

    TYPE: ClassVar[str] = "member.action"

    member_id: Id
    action_id: Id
    action: Annotated[str, Field(min_length=1, max_length=64)]
    occurred_at: Rfc3339Time | None = None


#: The purchase events as their handlers receive them.
Purchase = Decoded[PurchaseCompletedV1]
Refund = Decoded[PurchaseRefundedV1]
