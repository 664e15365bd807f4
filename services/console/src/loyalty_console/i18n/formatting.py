"""Words, numbers, money and times as the operator reads them: in their language (zh-CN or en,
from the catalogue) and their time zone (Babel for the locale's conventions, zoneinfo for the
zone). One `Formatter` per request, handed to the templates as `fmt`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from loyalty_console.i18n.catalogue import MESSAGES

LANGUAGES = ("zh-CN", "en")
#: What a missing figure shows (an en dash).
NOTHING = "\u2013"
#: A moment to the minute, as each language writes it.
_MOMENT = {"zh-CN": "y年M月d日 HH:mm", "en": "d MMM y, HH:mm"}
_BABEL = {"zh-CN": Locale.parse("zh_Hans_CN"), "en": Locale.parse("en_GB")}
#: Zones offered in the picker (any IANA zone is accepted).
TIME_ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
)


def pick_language(requested: str | None, accept_language: str | None) -> str:
    """The session's choice, else the browser's first language we have, else English."""
    if requested in LANGUAGES:
        return requested
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


def is_zone(name: str) -> bool:
    return len(name) <= 64 and name in available_timezones()


def zone_or(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


class Formatter:
    def __init__(self, language: str, zone: ZoneInfo) -> None:
        self.language = language
        self.zone = zone
        self._locale = _BABEL[language]
        self._index = 0 if language == "en" else 1

    def t(self, key: str, **values: object) -> str:
        """The catalogue's text for `key` in this language, `{name}` filled from `values`."""
        texts = MESSAGES.get(key)
        text = texts[self._index] if texts else key
        return text.format(**values) if values else text

    def num(self, value: object, digits: int = 0) -> str:
        number = _decimal(value)
        if number is None:
            return NOTHING
        pattern = "#,##0" + (f".{'0' * digits}" if digits else "")
        return format_decimal(number, format=pattern, locale=self._locale)

    def signed(self, value: object) -> str:
        number = _decimal(value)
        if number is None:
            return NOTHING
        return ("+" if number > 0 else "") + self.num(number)

    def money(self, value: object, currency: str = "CNY") -> str:
        number = _decimal(value)
        if number is None:
            return NOTHING
        return format_currency(number, currency, locale=self._locale)

    def pct(self, value: object, digits: int = 1) -> str:
        """`value` in percent already (42.5 → 42.5 %)."""
        number = _decimal(value)
        if number is None:
            return NOTHING
        pattern = "#,##0" + (f".{'0' * digits}" if digits else "") + "%"
        return format_percent(number / 100, format=pattern, locale=self._locale)

    def dt(self, value: object) -> str:
        """A moment in the operator's zone, to the minute."""
        moment = _moment(value)
        if moment is None:
            return NOTHING
        pattern = _MOMENT[self.language]
        return format_datetime(moment.astimezone(self.zone), pattern, locale=self._locale)

    def date(self, value: object) -> str:
        moment = _moment(value)
        if moment is not None:
            return format_date(moment.astimezone(self.zone).date(), "medium", locale=self._locale)
        if isinstance(value, date):
            return format_date(value, "medium", locale=self._locale)
        return NOTHING if value is None else str(value)

    def iso(self, value: object) -> str:
        """For a `datetime-local` input: the moment in the operator's zone, to the minute."""
        moment = _moment(value)
        return moment.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M") if moment else ""

    def name(self, value: object) -> str:
        """A `{"zh-CN": ..., "en": ...}` text in this language (the other one if missing)."""
        if isinstance(value, dict):
            other = "en" if self.language == "zh-CN" else "zh-CN"
            return str(value.get(self.language) or value.get(other) or "")
        return "" if value is None else str(value)
