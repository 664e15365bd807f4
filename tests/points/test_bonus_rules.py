"""Bonus rules of the program file: category multipliers, channel bonuses, dated campaigns in
their own time zone, a cap per order; each a line of the breakdown the ledger keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from loyalty_points.earning.rules import Earn, earn_for
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.program.loader import ProgramError, load_program
from tests.support.events import purchase_data

PROGRAM = load_program(Path(__file__).parent / "programs" / "bonuses.toml")
SHANGHAI = timezone(timedelta(hours=8))
AN_ORDINARY_DAY = datetime(2026, 10, 20, 12, 0, tzinfo=SHANGHAI)


def item(category: str, price: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "sku": f"sku-{category}",
        "category": category,
        "quantity": quantity,
        "unit_price": price,
    }


def earn(
    total: str,
    *,
    at: datetime = AN_ORDINARY_DAY,
    channel: str = "online",
    items: list[dict[str, Any]] | None = None,
    tier: str = "bronze",
) -> Earn:
    data = purchase_data(total=total, channel=channel)
    if items is not None:
        data["items"] = items
    return earn_for(
        PurchaseCompletedV1.model_validate(data), purchased_at=at, tier=tier, program=PROGRAM
    )


def rules(result: Earn) -> dict[str, int]:
    return {line.rule: line.points for line in result.lines}


def test_a_purchase_no_bonus_applies_to_earns_the_base_and_says_so() -> None:
    result = earn("399.00")

    assert result.points == 399
    assert rules(result) == {"base": 399}


def test_a_category_multiplier_applies_to_that_categorys_share_of_the_order() -> None:
    # 1,000 paid for 600 of electronics (x2) and 400 of apparel: +600 for the electronics share
    result = earn("1000.00", items=[item("electronics", "600.00"), item("apparel", "400.00")])

    assert rules(result) == {"base": 1000, "category:electronics": 600}
    assert result.points == 1600


def test_a_share_of_a_third_earns_its_whole_bonus() -> None:
    # electronics is exactly a third of 300: +100, not the 99 that rounding the share to
    # 0.333...3 before multiplying would floor to
    result = earn("300.00", items=[item("electronics", "100.00"), item("apparel", "200.00")])

    assert rules(result)["category:electronics"] == 100


def test_a_discounted_order_shares_its_bonus_by_list_value() -> None:
    # list value 1,200 (900 electronics, 300 apparel), paid 800: electronics is 75% of it
    result = earn("800.00", items=[item("electronics", "450.00", 2), item("apparel", "300.00")])

    assert rules(result)["category:electronics"] == 600


def test_buying_in_the_app_earns_the_channel_bonus() -> None:
    assert rules(earn("500.00", channel="app")) == {"base": 500, "channel:app": 50}


def test_double_points_on_11_11_in_shanghai_time() -> None:
    late_on_the_11th = datetime(2026, 11, 11, 23, 30, tzinfo=SHANGHAI)

    result = earn("399.00", at=late_on_the_11th)

    assert rules(result) == {"base": 399, "campaign:double-11": 399}
    assert result.points == 798


def test_the_campaign_follows_its_own_time_zone_not_utc() -> None:
    # 16:30 UTC on the 11th is already 00:30 on the 12th in Shanghai: the campaign is over
    just_after = datetime(2026, 11, 11, 16, 30, tzinfo=UTC)
    # 16:30 UTC on the 10th is 00:30 on the 11th in Shanghai: it has begun
    just_inside = datetime(2026, 11, 10, 16, 30, tzinfo=UTC)

    assert "campaign:double-11" not in rules(earn("100.00", at=just_after))
    assert rules(earn("100.00", at=just_inside))["campaign:double-11"] == 100


def test_a_campaign_limited_to_a_channel_and_category_applies_only_there() -> None:
    paris_week = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    basket = [item("beauty", "200.00"), item("apparel", "200.00")]

    in_store = earn("400.00", at=paris_week, channel="store", items=basket)
    online = earn("400.00", at=paris_week, channel="online", items=basket)

    assert rules(in_store)["campaign:store-beauty-week"] == 400  # (3 - 1) x 200
    assert "campaign:store-beauty-week" not in rules(online)


def test_bonuses_add_to_the_base_and_never_compound() -> None:
    result = earn(
        "1000.00",
        at=datetime(2026, 11, 11, 12, 0, tzinfo=SHANGHAI),
        channel="app",
        items=[item("electronics", "1000.00")],
        tier="silver",
    )

    assert rules(result) == {
        "base": 1000,
        "tier": 250,
        "category:electronics": 1000,
        "channel:app": 100,
        "campaign:double-11": 1000,
    }
    assert result.points == 3350


def test_no_order_earns_more_than_the_cap() -> None:
    result = earn(
        "4000.00",
        at=datetime(2026, 11, 11, 12, 0, tzinfo=SHANGHAI),
        items=[item("electronics", "4000.00")],
    )

    assert result.points == 5000
    assert rules(result)["cap"] == 5000 - 12000


@pytest.mark.parametrize(
    ("line", "wrong", "message"),
    [
        pytest.param('"Asia/Shanghai"', '"Asia/Atlantis"', "not an IANA time zone", id="zone"),
        pytest.param(
            "ends = 2026-11-12T00:00:00",
            "ends = 2026-11-10T00:00:00",
            "must be after starts",
            id="ends before it starts",
        ),
        pytest.param(
            'multiplier = "2"',
            'multiplier = "0.5"',
            "greater than or equal to 1",
            id="a bonus below x1",
        ),
        pytest.param(
            '"store-beauty-week"',
            '"double-11"',
            "campaign names must be unique",
            id="two campaigns of one name",
        ),
        pytest.param(
            "starts = 2026-11-11T00:00:00",
            "starts = 2026-11-11T00:00:00+08:00",
            "without an offset",
            id="an offset where the time zone says where",
        ),
        pytest.param(
            "max_points_per_order = 5000",
            "max_points_per_order = 0",
            "greater than 0",
            id="a cap of zero",
        ),
        pytest.param('channels = ["store"]', 'channels = ["kiosk"]', "online", id="a channel"),
    ],
)
def test_a_bad_bonus_rule_is_refused_at_start_with_a_clear_message(
    tmp_path: Path, line: str, wrong: str, message: str
) -> None:
    text = (Path(__file__).parent / "programs" / "bonuses.toml").read_text()
    assert line in text
    path = tmp_path / "program.toml"
    path.write_text(text.replace(line, wrong, 1))

    with pytest.raises(ProgramError, match=message):
        load_program(path)
