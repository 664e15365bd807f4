"""Field types shared by every event contract: the rules for ids, money and currencies."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import is_currency
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StringConstraints,
)
from typing_extensions import TypedDict

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


_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _plain_decimal(value: Any) -> Decimal:
    # A decimal *string*: a JSON number would already have been through a binary float in the
    # producer, so it is refused rather than silently rounded. Plain digits only: "4E+2",
    # "1_000" or " 399" are what Decimal() reads, not what the contract writes.
    if isinstance(value, Decimal) and value.is_finite():
        return value  # built in code (JSON never yields a Decimal), not read off the wire
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "399.00", not a number')
    if not _DECIMAL.fullmatch(value):
        raise ValueError(f'{value[:40]!r} is not a plain decimal such as "399.00"')
    return Decimal(value)


def _two_fractional_digits(value: Decimal) -> Decimal:
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("money has at most 2 fractional digits")
    return value


#: A decimal number written as a string ("1.25"): multipliers, rates.
DecimalText = Annotated[Decimal, BeforeValidator(_plain_decimal)]
#: Money as the contract writes it: a decimal string with at most 2 fractional digits.
Money = Annotated[DecimalText, AfterValidator(_two_fractional_digits)]
NonNegativeMoney = Annotated[Money, Field(ge=0)]
PositiveMoney = Annotated[Money, Field(gt=0)]


_RFC_3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc_3339_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value  # built in code, not read off the wire
    if not isinstance(value, str) or not _RFC_3339.fullmatch(value):
        raise ValueError(
            "must be an RFC 3339 time with an offset, such as 2026-11-20T10:15:00+08:00"
        )
    return value


#: A time as the contract writes it: RFC 3339 text with an offset (no epoch numbers).
Rfc3339Time = Annotated[AwareDatetime, BeforeValidator(_rfc_3339_text)]


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_text(value: Any) -> Any:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


#: A calendar date as the contract writes it: "YYYY-MM-DD" and nothing else.
DateText = Annotated[date, BeforeValidator(_date_text)]


@functools.lru_cache(maxsize=512)
def _known_currency(code: str) -> bool:
    # babel rebuilds its list of currencies on every call: once per event is too often
    return is_currency(code)


def _iso_4217(value: str) -> str:
    if len(value) != 3 or not value.isupper() or not _known_currency(value):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value


CurrencyCode = Annotated[str, AfterValidator(_iso_4217)]


#: The languages members read the platform in.
LANGUAGES = ("zh-CN", "en")

_Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]

#: A text members read, in every language of the platform (a reward's name, a tier benefit):
#: `{"zh-CN": "免运费", "en": "Free shipping"}`; a missing language is an error.
LocalizedText = TypedDict("LocalizedText", {"zh-CN": _Text, "en": _Text})


@dataclass(frozen=True, slots=True)
class WireType:
    """A field type as docs/asyncapi.yaml names and describes it: `loyalty asyncapi` writes a
    field of this type as a reference to the schema `name`. Documentation only (the validators
    above decide); tests/shared check that what a type accepts matches its schema."""

    name: str
    annotation: Any
    schema: Mapping[str, Any]


WIRE_TYPES = (
    WireType(
        "Id",
        Id,
        {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_ID_LENGTH,
            "description": "An identifier (member, order, refund, SKU, store, event id): 1 to 128 "
            "characters, no leading or trailing whitespace. Compared exactly.",
        },
    ),
    WireType(
        "Money",
        Money,
        {
            "type": "string",
            "pattern": r"^-?[0-9]+(\.[0-9]{1,2})?$",
            "description": "A plain decimal number as a JSON string, at most 2 fractional digits "
            '(`"399.00"`, `"12.5"`, `"7"`): an optional `-`, digits, and optionally `.` and 1 or '
            '2 digits. A JSON number is refused, and so are `"1.005"`, an exponent (`"4E+2"`), '
            'underscores (`"1_000"`), spaces (`" 399"`), a plus sign (`"+1"`) and a bare point '
            '(`"399."`).',
            "examples": ["399.00", "12.5", "7"],
        },
    ),
    WireType(
        "NonNegativeMoney",
        NonNegativeMoney,
        {
            "type": "string",
            "pattern": r"^[0-9]+(\.[0-9]{1,2})?$",
            "description": "Money (plain decimal string, at most 2 fractional digits) that is ≥ 0.",
            "examples": ["399.00", "0"],
        },
    ),
    WireType(
        "PositiveMoney",
        PositiveMoney,
        {
            "type": "string",
            "pattern": r"^(?=.*[1-9])[0-9]+(\.[0-9]{1,2})?$",
            "description": "Money (plain decimal string, at most 2 fractional digits) that is > 0.",
            "examples": ["199.50"],
        },
    ),
    WireType(
        "DecimalText",
        DecimalText,
        {
            "type": "string",
            "pattern": f"^{_DECIMAL.pattern}$",
            "description": "A plain decimal number as a JSON string with any number of fractional "
            'digits (a multiplier, a rate): `"1.25"`, `"1.3333"`, `"2"`. A JSON number, an '
            "exponent, underscores, spaces and a plus sign are refused.",
            "examples": ["1.25", "2"],
        },
    ),
    WireType(
        "CurrencyCode",
        CurrencyCode,
        {
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "An ISO 4217 currency code in upper case (`CNY`); codes that are not "
            "ISO 4217 are refused. Only currencies the program gives a rate earn points (the "
            "default program: CNY only).",
            "examples": ["CNY"],
        },
    ),
    WireType(
        "Timestamp",
        Rfc3339Time,
        {
            "type": "string",
            "pattern": f"^{_RFC_3339.pattern}$",
            "description": "RFC 3339 text with an offset: `2026-11-20T10:15:00+08:00` or "
            "`2026-11-20T02:15:00Z`, optionally with fractional seconds (kept to the "
            "microsecond). Never a number (epoch seconds are refused), never without an offset; "
            "the date and time must exist. The platform also reads a lower-case `t` or `z` and a "
            "space for the `T`; it writes `T` and an offset (`+00:00` or `Z` for UTC).",
            "examples": ["2026-11-20T10:15:00+08:00", "2026-11-20T02:15:00Z"],
        },
    ),
    WireType(
        "Date",
        DateText,
        {
            "type": "string",
            "format": "date",
            "pattern": f"^{_DATE.pattern}$",
            "description": 'A calendar date written `YYYY-MM-DD` (`"1990-05-17"`) and nothing '
            "else: not a number, not a date-time, not `1990-5-17`; the date must exist.",
            "examples": ["1990-05-17"],
        },
    ),
    WireType(
        "LocalizedText",
        LocalizedText,
        {"description": "A text members read, in every language of the platform."},
    ),
)
