"""The rewards catalogue and reward redemptions as marketing and the mobile app see them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
)

from loyalty_shared.events.fields import CurrencyCode, LocalizedText, PositiveMoney, Rfc3339Time

#: A reward's id as marketing chooses it: letters, digits and `._:-`, up to 64 characters.
RewardId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
#: An uploaded code: printable ASCII without spaces, as partners print them.
PoolCode = Annotated[str, Field(pattern=r"^[!-~]{4,64}$")]
CodeSource = Literal["generated", "pool"]

# The examples of the catalogue's and the redemptions' schemas: one reward, as each shows it.
_NAME_EXAMPLE: dict[str, Any] = {"zh-CN": "50元优惠券", "en": "CNY 50 coupon"}
_COUPON_EXAMPLE: dict[str, Any] = {"value": "50.00", "currency": "CNY", "valid_days": 30}
_DEFINITION_EXAMPLE: dict[str, Any] = {
    "name": _NAME_EXAMPLE,
    "points": 5000,
    "codes": "generated",
    "stock": 100,
    "min_tier": "silver",
    "available_from": "2026-12-01T00:00:00+08:00",
    "available_until": "2027-01-01T00:00:00+08:00",
    "per_member_limit": 2,
    "coupon": _COUPON_EXAMPLE,
}
_REWARD_EXAMPLE: dict[str, Any] = {
    "reward_id": "coupon-50",
    **_DEFINITION_EXAMPLE,
    "status": "active",
    "created_at": "2026-11-20T09:00:00+08:00",
    "updated_at": "2026-11-20T09:00:00+08:00",
    "retired_at": None,
}
_REDEMPTION_EXAMPLE: dict[str, Any] = {
    "redemption_id": "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
    "member_id": "m-1001",
    "reward_id": "coupon-50",
    "reward_name": _NAME_EXAMPLE,
    "points": 5000,
    "coupon_code": "LY7K-Q2MZ-9XPD",
    "coupon_expires_at": "2027-01-04T10:15:00+08:00",
    "coupon": _COUPON_EXAMPLE,
    "status": "issued",
    "created_at": "2026-12-05T10:15:00+08:00",
    "used_at": None,
    "used_order_id": None,
    "cancelled_at": None,
}


class CouponTerms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: PositiveMoney = Field(description='What the coupon is worth, e.g. "50.00"')
    currency: CurrencyCode
    valid_days: int = Field(ge=1, le=3650, description="Days from redemption until it expires")


def coupon_terms(value: Decimal, currency: str, valid_days: int) -> CouponTerms:
    return CouponTerms(value=value, currency=currency, valid_days=valid_days)


class RewardDefinition(BaseModel):
    """What `PUT /v1/rewards/{reward_id}` takes: the whole reward, replaced."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_DEFINITION_EXAMPLE]})
    #: The program's tiers, set by `with_program_tiers`.
    TIERS: ClassVar[tuple[str, ...]] = ()

    name: LocalizedText
    points: int = Field(gt=0, le=100_000_000, description="The price in points")
    codes: CodeSource = Field(
        "generated",
        description="`generated`: the platform makes unguessable codes; `pool`: codes uploaded "
        "with `POST /v1/rewards/{reward_id}/codes`, one unit of stock each. Fixed once created.",
    )
    stock: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="Units left to redeem; null is unlimited. A pool reward's stock is its "
        "unused codes: leave it null.",
    )
    min_tier: str | None = Field(None, description="Members below this tier may not redeem it")
    available_from: Rfc3339Time | None = None
    available_until: Rfc3339Time | None = Field(None, description="Excluded")
    per_member_limit: int | None = Field(
        None, ge=1, le=10_000, description="Redemptions per member (cancelled ones not counted)"
    )
    coupon: CouponTerms

    @field_validator("min_tier")
    @classmethod
    def _known_tier(cls, name: str | None) -> str | None:
        if name is not None and name not in cls.TIERS:
            raise ValueError(f"{name!r} is not a tier of the program ({', '.join(cls.TIERS)})")
        return name

    @field_validator("stock")
    @classmethod
    def _pool_stock_is_its_codes(cls, stock: int | None, info: ValidationInfo) -> int | None:
        if stock is not None and info.data.get("codes") == "pool":
            raise ValueError("a pool reward's stock is its uploaded codes: leave stock null")
        return stock

    @field_validator("available_until")
    @classmethod
    def _ends_after_it_starts(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("available_from")
        if until is not None and start is not None and until <= start:
            raise ValueError("must be after available_from")
        return until


class RewardCreate(RewardDefinition):
    """What `POST /v1/rewards` takes."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reward_id": "coupon-50", **_DEFINITION_EXAMPLE}]}
    )

    reward_id: RewardId


def with_program_tiers(
    tiers: Sequence[str],
) -> tuple[type[RewardCreate], type[RewardDefinition]]:
    """The bodies of `POST /v1/rewards` and `PUT /v1/rewards/{reward_id}` with `min_tier`
    checked against the program's ladder, so an unknown tier is listed in the same 422 as every
    other problem of the body."""
    described: Any = (
        str | None,
        Field(None, description=f"One of {', '.join(tiers)}: members below it may not redeem it"),
    )
    models = (
        create_model("RewardCreate", __base__=RewardCreate, min_tier=described),
        create_model("RewardChange", __base__=RewardDefinition, min_tier=described),
    )
    for model in models:
        model.TIERS = tuple(tiers)
    return models


class Reward(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_REWARD_EXAMPLE]})

    reward_id: str
    name: LocalizedText
    points: int
    codes: CodeSource
    stock: int | None = Field(description="Units left to redeem; null is unlimited")
    min_tier: str | None
    available_from: datetime | None
    available_until: datetime | None
    per_member_limit: int | None
    coupon: CouponTerms
    status: Literal["active", "retired"]
    created_at: datetime
    updated_at: datetime
    retired_at: datetime | None


class RewardPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_REWARD_EXAMPLE], "next_cursor": None}]}
    )

    items: list[Reward]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class CodesUpload(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"codes": ["PARTNER-0001", "PARTNER-0002"]}]},
    )

    codes: list[PoolCode] = Field(min_length=1, max_length=5000)


class CodesAdded(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reward_id": "cinema-ticket", "added": 2, "stock": 120}]}
    )

    reward_id: str
    added: int
    stock: int = Field(description="The reward's units left, these codes included")


class MemberReward(BaseModel):
    reward_id: str
    name: LocalizedText
    points: int
    coupon: CouponTerms
    stock: int | None = Field(description="Units left; null is unlimited")
    available_until: datetime | None
    per_member_limit: int | None
    redeemed: int = Field(description="This member's redemptions of it that count to the limit")
    affordable: bool = Field(description="Whether the member's available points pay for it now")


class MemberRewards(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "m-1001",
                    "available": 6200,
                    "items": [
                        {
                            "reward_id": "coupon-50",
                            "name": _NAME_EXAMPLE,
                            "points": 5000,
                            "coupon": _COUPON_EXAMPLE,
                            "stock": 100,
                            "available_until": "2027-01-01T00:00:00+08:00",
                            "per_member_limit": 2,
                            "redeemed": 0,
                            "affordable": True,
                        }
                    ],
                    "next_cursor": None,
                }
            ]
        }
    )

    member_id: str
    available: int = Field(description="The member's available points")
    items: list[MemberReward] = Field(
        description="The rewards the member may redeem now (tier, dates, stock, their limit)"
    )
    next_cursor: str | None = None


class RewardRedemptionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reward_id": "coupon-50"}]}
    )

    reward_id: RewardId


class RewardRedemption(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_REDEMPTION_EXAMPLE]})

    redemption_id: UUID
    member_id: str
    reward_id: str
    reward_name: LocalizedText
    points: int
    coupon_code: str
    coupon_expires_at: datetime
    coupon: CouponTerms
    status: Literal["issued", "used", "expired", "cancelled"] = Field(
        description="The coupon: issued (usable), used by an order, expired unused, or "
        "cancelled (points back, code void)"
    )
    created_at: datetime
    used_at: datetime | None = None
    used_order_id: str | None = None
    cancelled_at: datetime | None = None


class RewardRedemptionPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_REDEMPTION_EXAMPLE], "next_cursor": None}]}
    )

    items: list[RewardRedemption]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")
