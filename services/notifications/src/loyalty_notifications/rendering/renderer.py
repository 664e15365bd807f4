"""Jinja2 templates, one per trigger and language, with Babel for numbers, money and dates.

`templates/<language>/<trigger>.j2` defines two blocks, `subject` and `body`. Undefined variables
are errors (StrictUndefined), and `check_all` renders every template with the trigger's sample
at start: a missing template or variable stops the service before it consumes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    pass_context,
)
from jinja2.runtime import Context

from loyalty_notifications.triggers.payloads import SAMPLES, TRIGGERS, Payload

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("zh-CN", "en")
DEFAULT_CURRENCY = "CNY"

#: Tier names as members read them.
TIER_NAMES: dict[str, dict[str, str]] = {
    "bronze": {"zh-CN": "铜卡", "en": "Bronze"},
    "silver": {"zh-CN": "银卡", "en": "Silver"},
    "gold": {"zh-CN": "金卡", "en": "Gold"},
    "platinum": {"zh-CN": "白金卡", "en": "Platinum"},
}


class TemplateProblem(RuntimeError):
    """A template is missing or does not render with its trigger's variables."""


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


def _locale(context: Context) -> Locale:
    return Locale.parse(str(context["language"]), sep="-")


def _zone(context: Context) -> ZoneInfo:
    return ZoneInfo(str(context["time_zone"]))


def _when(value: Any, context: Context) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(_zone(context))


@pass_context
def _number(context: Context, value: Any) -> str:
    return str(format_decimal(Decimal(str(value)), locale=_locale(context)))


@pass_context
def _money(context: Context, value: Any, currency: str = DEFAULT_CURRENCY) -> str:
    return str(format_currency(Decimal(str(value)), currency, locale=_locale(context)))


@pass_context
def _date(context: Context, value: Any) -> str:
    if isinstance(value, str) and len(value) == 10:
        return str(format_date(date.fromisoformat(value), format="long", locale=_locale(context)))
    return str(format_date(_when(value, context).date(), format="long", locale=_locale(context)))


@pass_context
def _datetime(context: Context, value: Any) -> str:
    return str(format_datetime(_when(value, context), format="medium", locale=_locale(context)))


@pass_context
def _tier(context: Context, value: Any) -> str:
    names = TIER_NAMES.get(str(value))
    return names.get(str(context["language"]), str(value)) if names else str(value)


@pass_context
def _localized(context: Context, value: Any) -> str:
    """A text given in every language (`{"zh-CN": ..., "en": ...}`), in the message's."""
    return str(value[str(context["language"])])


class Renderer:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        self._env = Environment(
            loader=FileSystemLoader(directory),
            undefined=StrictUndefined,
            autoescape=False,  # noqa: S701 - plain-text messages, never HTML
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(
            number=_number,
            money=_money,
            date=_date,
            datetime=_datetime,
            tier=_tier,
            localized=_localized,
        )

    def render(
        self, trigger: str, *, language: str, time_zone: str, name: str, payload: Payload
    ) -> Rendered:
        template = self._env.get_template(f"{language}/{trigger}.j2")
        context = template.new_context(
            {**payload, "name": name, "language": language, "time_zone": time_zone}
        )
        blocks = template.blocks
        if "subject" not in blocks or "body" not in blocks:
            raise TemplateProblem(f"{language}/{trigger}.j2 needs a subject and a body block")
        subject = "".join(blocks["subject"](context)).strip()
        body = "".join(blocks["body"](context)).strip() + "\n"
        return Rendered(subject=" ".join(subject.split()), body=body)

    def check_all(self) -> int:
        """Render every trigger in every language with its sample; raise naming every failure."""
        problems = []
        for trigger in TRIGGERS:
            for language in LANGUAGES:
                try:
                    self.render(
                        trigger,
                        language=language,
                        time_zone="Asia/Shanghai",
                        name="王芳",
                        payload=SAMPLES[trigger],
                    )
                except (TemplateError, TemplateProblem, KeyError, ValueError) as exc:
                    problems.append(f"{language}/{trigger}.j2: {type(exc).__name__}: {exc}")
        if problems:
            raise TemplateProblem("templates do not render:\n  " + "\n  ".join(problems))
        return len(TRIGGERS) * len(LANGUAGES)
