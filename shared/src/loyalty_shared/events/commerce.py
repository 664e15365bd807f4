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
    """A line of an order."""

    sku: Id
    category: Annotated[str, Field(min_length=1, max_length=128)]
    quantity: Annotated[StrictInt, Field(ge=1)] = Field(
        description='A JSON integer ≥ 1 (`1.0` and `"1"` are refused).'
    )
    unit_price: NonNegativeMoney


#: A code the shop accepted at checkout: one the platform issued, or one of the shop's own
#: (those are ignored), so anything short enough is read.
CouponText = Annotated[str, Field(min_length=1, max_length=128)]


class PurchaseCompletedV1(_Contract):
    """A member paid for an order."""

    TYPE: ClassVar[str] = "purchase.completed"

    order_id: Id = Field(
        description="The order. The points service credits an order once: a second "
        "purchase.completed for the same order under another event id is refused with "
        "`duplicate-order`."
    )
    member_id: Id = Field(description="The member; equal to the envelope's `subject`.")
    channel: Literal["online", "store", "app"]
    store_id: Id | None = Field(default=None, description="Optional.")
    currency: CurrencyCode
    total: NonNegativeMoney = Field(
        description="What the member paid, ≥ 0. Points are earned on it."
    )
    items: list[LineItem] = Field(description="The order lines (the list may be empty).")
    coupons: Annotated[list[CouponText], Field(max_length=50)] | None = Field(
        default=None,
        description="Optional: the coupon codes the shop accepted on the order (at most 50, "
        "each 1 to 128 characters; contract 5.2). A code the platform issued and that is still "
        "unused counts as used by this order (coupon.used), once, by the first purchase that "
        "names it; any other code is ignored.",
    )


class PurchaseRefundedV1(_Contract):
    """Part or all of an earlier purchase was refunded."""

    TYPE: ClassVar[str] = "purchase.refunded"

    order_id: Id = Field(
        description="The order of the original purchase. A refund may arrive before its "
        "purchase: the points, tiers and feedback services keep it and apply it when the "
        "purchase.completed arrives."
    )
    refund_id: Id = Field(
        description="Unique per refund. Points, tiers and feedback apply a refund id once: a "
        "second purchase.refunded with the same `refund_id` under another event id is refused "
        "(`duplicate-refund`)."
    )
    member_id: Id = Field(
        description="The member; equal to the envelope's `subject` and to the member of the "
        "order (points, tiers and feedback refuse another member with `member-mismatch`)."
    )
    currency: CurrencyCode
    amount: PositiveMoney = Field(
        description="The amount refunded, > 0, in the order's currency. It may not exceed what "
        "is left to refund on the order (its `total` less the refunds applied): points, tiers "
        "and feedback refuse a larger one (`refund-exceeds-order`), and one in another currency "
        "than the order (`currency-mismatch`)."
    )
    items: list[LineItem] | None = Field(default=None, description="Optional; the refunded lines.")


class Consents(_Contract):
    """What the member agreed to be sent, per channel."""

    email: StrictBool
    sms: StrictBool
    push: StrictBool


class MemberProfileV1(_Contract):
    """The member's whole profile: `member.updated` carries all of it again, not a patch."""

    member_id: Id = Field(description="The member; equal to the envelope's `subject`.")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: EmailStr | None = Field(default=None, description="Optional; a valid e-mail address.")
    phone: Annotated[str, Field(min_length=3, max_length=32)] | None = Field(
        default=None, description="Optional."
    )
    locale: Literal["zh-CN", "en"] = "zh-CN"
    birthday: DateText | None = Field(default=None, description="Optional; a `YYYY-MM-DD` string.")
    consents: Consents = Field(
        description="Required, with all three flags, every time. Each flag is a JSON `true` or "
        '`false`; `"true"`, `1` or `null` are refused.'
    )


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

    referred_by: Id | None = Field(
        default=None,
        description="Optional, on member.enrolled: the member who referred this one (contract "
        "5.3). Read by points (a referral); one that is not an id (empty, surrounding spaces) is "
        "refused by points as `invalid-data`.",
    )


MEMBER_ENROLLED = "member.enrolled"
MEMBER_UPDATED = "member.updated"


class ErasureRequestedV1(_Contract):
    """The member asked to be forgotten (contract 5.4): every service erases what identifies
    them and answers with `privacy.erased` on `loyalty.privacy`."""

    TYPE: ClassVar[str] = "member.erasure_requested"

    member_id: Id = Field(description="The member; equal to the envelope's `subject`.")
    requested_at: Rfc3339Time = Field(description="When the member asked.")


class MemberActionV1(_Contract):
    """Something the member did that the program may reward (contract 5.3): a review written, a
    profile completed, a visit to a store. `action_id` is unique per action, whatever the event
    id; `occurred_at` defaults to the event's `time`."""

    TYPE: ClassVar[str] = "member.action"

    member_id: Id = Field(description="The member; equal to the envelope's `subject`.")
    action_id: Id = Field(description="Unique per action, whatever the event id.")
    action: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="The action's name, as the program's `actions` name it."
    )
    occurred_at: Rfc3339Time | None = Field(
        default=None, description="When it happened; the envelope's `time` when absent."
    )


#: The purchase events as their handlers receive them.
Purchase = Decoded[PurchaseCompletedV1]
Refund = Decoded[PurchaseRefundedV1]
