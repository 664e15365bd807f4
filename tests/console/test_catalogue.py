"""Every text the console shows exists in English and Chinese, with the same placeholders; a
key the templates or the code name is in the catalogue (dynamic keys, `"tier." ~ name`, with
every value they take)."""

from __future__ import annotations

import re
import string
from importlib.resources import files

from loyalty_console.i18n.catalogue import MESSAGES

PACKAGE = files("loyalty_console")
#: Keys built from a prefix and a value: every value the services answer with.
DYNAMIC = {
    "tier.": ["bronze", "silver", "gold", "platinum"],
    "role.": ["support", "marketing", "finance", "admin"],
    "ledger.": [
        "earn",
        "mature",
        "reverse",
        "redeem",
        "redeem_cancel",
        "expire",
        "adjust",
        "hold",
        "hold_release",
        "review_void",
    ],
    "review.reason_": ["refunds", "refund_ratio", "points_per_day", "actions_per_day"],
    "review.review_": ["release", "void"],
    "review.done_": ["release", "void"],
    "lots.": ["pending", "available"],
    "tier.reason_": ["spend", "evaluation", "admin"],
    "segment.": [
        "champions",
        "loyal",
        "new",
        "potential",
        "at_risk",
        "hibernating",
        "needs_attention",
    ],
    "channel.": ["online", "store", "app", "unknown"],
    "cases.": ["open", "contacted", "resolved"],
    "rewards.status_": ["issued", "used", "expired", "cancelled"],
    "dlq.outcome_": ["applied", "duplicate", "refused", "skipped"],
    "feedback.trend_": ["tier", "channel"],
    "feedback.group_": ["tier", "channel"],
    "loyalty.": ["p25", "p50", "p75", "p90"],
}


def _sources() -> list[str]:
    texts = []
    for folder in (PACKAGE, PACKAGE / "templates"):
        for entry in folder.iterdir():
            if entry.is_dir():
                texts += [
                    f.read_text() for f in entry.iterdir() if f.name.endswith((".py", ".html"))
                ]
            elif entry.name.endswith((".py", ".html")):
                texts.append(entry.read_text())
    return texts


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_text_is_in_both_languages_with_the_same_placeholders() -> None:
    for key, (english, chinese) in MESSAGES.items():
        assert english.strip(), key
        assert chinese.strip(), key
        assert _placeholders(english) == _placeholders(chinese), key


def test_every_key_the_console_uses_is_in_the_catalogue() -> None:
    used: set[str] = set()
    for text in _sources():
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_0-9.]+)["']""", text))
    for prefix, values in DYNAMIC.items():
        used |= {prefix + value for value in values}
    missing = sorted(k for k in used if k not in MESSAGES and not k.endswith((".", "_")))
    assert missing == []
