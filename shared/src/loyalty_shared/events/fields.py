"""Field types shared by every event contract: the rules for ids, money and currencies."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from babel.numbers import is_currency
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

MAX_ID_LENGTH = 128

#: Every identifier in the contract (member, order, refund, sku, store, event id): 1..128 chars,
#: no surrounding whitespace, so "m-1" and " m-1" can never be two members.
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, strip_whitespace=False)
]


def _no_surrounding_space(value: str) -> str:
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    return value


Id = Annotated[Identifier, AfterValidator(_no_surrounding_space)]


def _money_from_string(value: Any) -> Decimal:
    # The contract says money is a decimal *string*: a JSON number would already have been
    # through a binary float in the producer, so it is refused rather than silently rounded.
    if not isinstance(value, str):
        raise ValueError('money must be a decimal string such as "399.00", not a number')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not amount.is_finite():
        raise ValueError("money must be a finite decimal")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("money has at most 2 fractional digits")
    return amount


Money = Annotated[Decimal, BeforeValidator(_money_from_string)]
NonNegativeMoney = Annotated[Money, Field(ge=0)]
PositiveMoney = Annotated[Money, Field(gt=0)]


def _iso_4217(value: str) -> str:
    if len(value) != 3 or not value.isupper() or not is_currency(value):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value


CurrencyCode = Annotated[str, AfterValidator(_iso_4217)]
