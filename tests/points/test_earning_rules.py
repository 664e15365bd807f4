"""How many points a purchase earns, and when they become available and expire, under the
default program (contract section 2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_points.earning.rules import earn_for
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.program.loader import load_program
from loyalty_shared.program.schema import Program
from tests.support.events import purchase_data

PROGRAM = load_program()
TIERS = [tier.name for tier in PROGRAM.tiers.ladder]
SHANGHAI = timezone(timedelta(hours=8))
PURCHASED_AT = datetime(2026, 11, 20, 10, 15, tzinfo=SHANGHAI)


def a_purchase(total: str, currency: str = "CNY") -> PurchaseCompletedV1:
    return PurchaseCompletedV1.model_validate(
        purchase_data("m-1001", total=total, currency=currency)
    )


def points_for(
    total: str, tier: str = "bronze", currency: str = "CNY", program: Program = PROGRAM
) -> int:
    earn = earn_for(
        a_purchase(total, currency), purchased_at=PURCHASED_AT, tier=tier, program=program
    )
    return earn.points


# --- examples -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "tier", "points"),
    [
        pytest.param("399.00", "bronze", 399, id="399 CNY at bronze earns 399"),
        pytest.param("399.00", "silver", 498, id="399 CNY at silver earns 498 (498.75 down)"),
        pytest.param("399.00", "gold", 598, id="399 CNY at gold earns 598 (598.5 down)"),
        pytest.param("399.00", "platinum", 798, id="399 CNY at platinum earns 798"),
        pytest.param("0.99", "bronze", 0, id="less than 1 CNY earns nothing"),
        pytest.param("0.99", "platinum", 0, id="less than 1 CNY earns nothing even at platinum"),
        pytest.param("0.00", "gold", 0, id="a free purchase earns nothing"),
        pytest.param("1.00", "silver", 1, id="1 CNY at silver earns 1 (1.25 down)"),
        pytest.param("399.99", "bronze", 399, id="the cents are not counted"),
        pytest.param(
            "1000.99",
            "gold",
            1500,
            id="1000.99 CNY at gold earns 1500: 1000 whole units times 1.5",
        ),
        pytest.param("1000.99", "silver", 1250, id="1000.99 CNY at silver earns 1250"),
        pytest.param("3.00", "silver", 3, id="3 CNY at silver earns 3 (3.75 down)"),
    ],
)
def test_a_cny_purchase_earns_one_point_per_whole_yuan_times_the_tier_multiplier(
    total: str, tier: str, points: int
) -> None:
    assert points_for(total, tier) == points


def test_the_multiplier_applies_to_whole_yuan_only_not_to_the_cents() -> None:
    # "1 point per whole unit of total, rounded down, times the tier multiplier (points
    # rounded down)": 1000.99 is 1000 whole yuan, 1000 x 1.5 = 1500. Multiplying the cents as
    # well (1000.99 x 1.5 = 1501.485) would give 1501.
    earn = earn_for(a_purchase("1000.99"), purchased_at=PURCHASED_AT, tier="gold", program=PROGRAM)

    assert earn.base_points == 1000
    assert earn.points == 1500


def test_a_purchase_in_a_currency_without_a_rate_earns_nothing() -> None:
    assert points_for("399.00", "platinum", currency="USD") == 0


def test_a_purchase_in_a_currency_the_program_gives_a_rate_earns_at_that_rate() -> None:
    program = PROGRAM.model_copy(
        update={
            "earning": PROGRAM.earning.model_copy(
                update={"rates": {"CNY": Decimal(1), "USD": Decimal(7)}}
            )
        }
    )

    assert points_for("10.00", "bronze", currency="USD", program=program) == 70
    assert points_for("10.00", "gold", currency="USD", program=program) == 105


def test_the_earning_records_the_tier_and_multiplier_it_was_computed_with() -> None:
    earn = earn_for(a_purchase("399.00"), purchased_at=PURCHASED_AT, tier="silver", program=PROGRAM)

    assert earn.tier == "silver"
    assert earn.multiplier == Decimal("1.25")
    assert earn.base_points == 399
    assert earn.points == 498


def test_points_become_available_14_days_after_the_purchase_time() -> None:
    earn = earn_for(a_purchase("399.00"), purchased_at=PURCHASED_AT, tier="bronze", program=PROGRAM)

    assert earn.available_at == PURCHASED_AT + timedelta(days=14)
    assert earn.available_at == datetime(2026, 12, 4, 10, 15, tzinfo=SHANGHAI)


def test_points_expire_365_days_after_the_purchase_time() -> None:
    earn = earn_for(a_purchase("399.00"), purchased_at=PURCHASED_AT, tier="bronze", program=PROGRAM)

    assert earn.expires_at == PURCHASED_AT + timedelta(days=365)
    assert earn.expires_at == datetime(2027, 11, 20, 10, 15, tzinfo=SHANGHAI)


def test_the_tier_does_not_change_when_points_become_available_or_expire() -> None:
    bronze = earn_for(
        a_purchase("399.00"), purchased_at=PURCHASED_AT, tier="bronze", program=PROGRAM
    )
    gold = earn_for(a_purchase("399.00"), purchased_at=PURCHASED_AT, tier="gold", program=PROGRAM)

    assert (bronze.available_at, bronze.expires_at) == (gold.available_at, gold.expires_at)


def test_an_unknown_tier_name_earns_at_the_base_tier() -> None:
    earn = earn_for(
        a_purchase("399.00"), purchased_at=PURCHASED_AT, tier="diamond", program=PROGRAM
    )

    assert earn.tier == "bronze"
    assert earn.multiplier == Decimal("1.0")
    assert earn.points == 399


# --- properties ---------------------------------------------------------------------------

totals = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False).map(
    lambda amount: f"{amount:.2f}"
)
tiers = st.sampled_from(TIERS)


@given(total=totals, tier=tiers)
def test_a_purchase_never_earns_negative_points(total: str, tier: str) -> None:
    assert points_for(total, tier) >= 0


@given(total=totals, tier=tiers)
def test_points_are_whole_yuan_times_the_multiplier_rounded_down(total: str, tier: str) -> None:
    rule = PROGRAM.tier(tier)
    assert rule is not None
    multiplier = rule.multiplier
    whole_yuan = int(Decimal(total))

    points = points_for(total, tier)

    assert isinstance(points, int)
    assert points <= whole_yuan * multiplier < points + 1


@given(smaller=totals, extra=totals, tier=tiers)
def test_spending_more_never_earns_fewer_points(smaller: str, extra: str, tier: str) -> None:
    larger = f"{Decimal(smaller) + Decimal(extra):.2f}"

    assert points_for(larger, tier) >= points_for(smaller, tier)


@given(total=totals, tiers_pair=st.lists(tiers, min_size=2, max_size=2, unique=True))
def test_a_higher_tier_never_earns_fewer_points_for_the_same_purchase(
    total: str, tiers_pair: list[str]
) -> None:
    lower, higher = sorted(tiers_pair, key=TIERS.index)

    assert points_for(total, higher) >= points_for(total, lower)


@given(total=totals)
def test_at_the_base_tier_a_cny_purchase_earns_exactly_its_whole_yuan(total: str) -> None:
    assert points_for(total, "bronze") == int(Decimal(total))
