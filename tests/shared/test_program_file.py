"""The program file: the shipped default is the contract's program (section 2), and a broken
file the operator writes is refused at start with a message that says where and what."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from loyalty_shared.program.loader import ProgramError, default_program_path, load_program

VALID_PROGRAM = """\
currency = "CNY"

[earning]
rates = { CNY = "1" }
return_window_days = 14
expiry_days = 365

[tiers]
validity_days = 365
qualifying_window_days = 365

[[tiers.ladder]]
name = "bronze"
threshold = "0"
multiplier = "1.0"

[[tiers.ladder]]
name = "silver"
threshold = "5000"
multiplier = "1.25"

[[tiers.ladder]]
name = "gold"
threshold = "20000"
multiplier = "1.5"
"""


# --- the shipped default ------------------------------------------------------------------


def test_the_default_program_is_shipped_with_the_platform_and_loads() -> None:
    assert default_program_path().is_file()

    program = load_program()

    assert program.currency == "CNY"


def test_the_default_program_earns_one_point_per_cny_and_nothing_in_other_currencies() -> None:
    program = load_program()

    assert program.earning.rates == {"CNY": Decimal(1)}


def test_the_default_program_has_a_14_day_return_window_and_365_day_expiry() -> None:
    program = load_program()

    assert program.earning.return_window_days == 14
    assert program.earning.expiry_days == 365


def test_the_default_program_keeps_a_tier_365_days_and_counts_spend_over_365_days() -> None:
    program = load_program()

    assert program.tiers.validity_days == 365
    assert program.tiers.qualifying_window_days == 365


def test_the_default_program_has_the_contract_tier_ladder() -> None:
    program = load_program()

    ladder = [(t.name, t.threshold, t.multiplier) for t in program.tiers.ladder]
    assert ladder == [
        ("bronze", Decimal(0), Decimal("1.0")),
        ("silver", Decimal(5000), Decimal("1.25")),
        ("gold", Decimal(20000), Decimal("1.5")),
        ("platinum", Decimal(50000), Decimal("2.0")),
    ]
    assert program.base_tier.name == "bronze"


def test_the_default_program_has_no_bonus_rules() -> None:
    earning = load_program().earning

    assert earning.categories == {}
    assert earning.channels == {}
    assert earning.campaigns == []
    assert earning.max_points_per_order is None
    assert earning.refund_policy == "proportional"


def test_the_default_program_names_every_tiers_benefits_in_both_languages() -> None:
    program = load_program()

    for tier in program.tiers.ladder:
        assert tier.benefits, tier.name
        for benefit in tier.benefits:
            assert set(benefit.name) == {"en", "zh-CN"}, (tier.name, benefit.id)
    gold, platinum = program.tier("gold"), program.tier("platinum")
    assert gold is not None
    assert platinum is not None
    assert [b.id for b in platinum.new_benefits(gold)] == ["points-2x", "priority-service"]


def test_a_tier_described_in_one_text_per_language_still_loads_as_one_benefit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "program.toml"
    path.write_text(
        VALID_PROGRAM.replace(
            'multiplier = "1.25"\n',
            'multiplier = "1.25"\nbenefits = { en = "1.25x points", "zh-CN" = "1.25 倍积分" }\n',
        ),
        encoding="utf-8",
    )

    silver = load_program(path).tier("silver")

    assert silver is not None
    assert [(b.id, b.name["en"]) for b in silver.benefits] == [("tier", "1.25x points")]


def test_the_default_program_keeps_an_expired_coupons_points_and_reminds_a_week_ahead() -> None:
    rewards = load_program().rewards

    assert rewards.return_points_on_coupon_expiry is False
    assert rewards.coupon_reminder_days == 7


def test_support_may_adjust_5000_points_at_a_time_by_default_and_the_program_may_say_otherwise(
    tmp_path: Path,
) -> None:
    assert load_program().support_adjustment_limit == 5000
    path = tmp_path / "program.toml"
    path.write_text(VALID_PROGRAM, encoding="utf-8")
    assert load_program(path).support_adjustment_limit == 5000

    path.write_text(_broken('currency = "CNY"', 'currency = "CNY"\nsupport_adjustment_limit = 0'))

    assert load_program(path).support_adjustment_limit == 0


def test_a_point_is_worth_a_fen_in_shanghai_unless_the_program_says_otherwise(
    tmp_path: Path,
) -> None:
    default = load_program()
    assert (default.point_value, default.time_zone) == (Decimal("0.01"), "Asia/Shanghai")
    path = tmp_path / "program.toml"
    path.write_text(
        _broken('currency = "CNY"', 'currency = "CNY"\npoint_value = "0.005"\ntime_zone = "UTC"')
    )

    program = load_program(path)

    assert (program.point_value, program.time_zone) == (Decimal("0.005"), "UTC")


def test_a_birthday_brings_points_by_tier_and_the_program_may_say_how_many(
    tmp_path: Path,
) -> None:
    default = load_program()
    assert default.birthday_points == {"bronze": 0, "silver": 100, "gold": 200, "platinum": 500}
    assert [default.birthday_bonus(t) for t in ("bronze", "platinum", "unknown")] == [0, 500, 0]
    path = tmp_path / "program.toml"
    path.write_text(
        _broken('currency = "CNY"', 'currency = "CNY"\nbirthday_points = { gold = 300 }')
    )
    assert load_program(path).birthday_points == {"gold": 300}

    path.write_text(
        _broken('currency = "CNY"', 'currency = "CNY"\nbirthday_points = { platinum = 1 }')
    )
    with pytest.raises(ProgramError) as refused:
        load_program(path)
    assert "birthday_points" in str(refused.value)
    assert "platinum" in str(refused.value)

    path.write_text(
        _broken('currency = "CNY"', 'currency = "CNY"\nbirthday_points = { gold = -1 }')
    )
    with pytest.raises(ProgramError):
        load_program(path)


def test_a_program_file_the_operator_writes_is_loaded_from_its_path(tmp_path: Path) -> None:
    path = tmp_path / "program.toml"
    path.write_text(VALID_PROGRAM, encoding="utf-8")

    program = load_program(path)

    assert [t.name for t in program.tiers.ladder] == ["bronze", "silver", "gold"]


# --- a broken program file is refused, saying where and what ------------------------------


def _broken(original: str, replacement: str) -> str:
    assert original in VALID_PROGRAM, original
    return VALID_PROGRAM.replace(original, replacement, 1)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param(
            "currency = CNY\n[earning\n",
            ["not valid TOML"],
            id="a file that is not TOML",
        ),
        pytest.param(
            _broken("return_window_days = 14", "return_windows_days = 14"),
            ["earning.return_windows_days", "earning.return_window_days"],
            id="a misspelt key",
        ),
        pytest.param(
            _broken("[tiers]\n", "[tiers]\ngrace_days = 30\n"),
            ["tiers.grace_days"],
            id="a key the program does not have",
        ),
        pytest.param(
            _broken('threshold = "20000"', 'threshold = "5000"'),
            ["tiers", "gold", "silver", "rise"],
            id="a tier threshold equal to the one below",
        ),
        pytest.param(
            _broken('threshold = "20000"', 'threshold = "4000"'),
            ["tiers", "gold", "silver", "rise"],
            id="a tier threshold below the one below",
        ),
        pytest.param(
            _broken('threshold = "0"', 'threshold = "100"'),
            ["tiers", "bronze", "0"],
            id="a first tier that does not start at 0",
        ),
        pytest.param(
            _broken('name = "gold"', 'name = "silver"'),
            ["tiers", "silver", "unique"],
            id="two tiers with the same name",
        ),
        pytest.param(
            _broken('rates = { CNY = "1" }', 'rates = { CNY = "-1" }'),
            ["earning.rates.CNY"],
            id="a negative earning rate",
        ),
        pytest.param(
            _broken('multiplier = "1.25"', 'multiplier = "0"'),
            ["tiers.ladder.1.multiplier"],
            id="a tier multiplier of 0",
        ),
        pytest.param(
            _broken(
                'multiplier = "1.5"\n',
                'multiplier = "1.5"\nbenefits = [{ id = "shipping", name = { en = "Free" } }]\n',
            ),
            ["tiers.ladder.2.benefits.0.name.zh-CN"],
            id="a tier benefit named in one language only",
        ),
        pytest.param(
            _broken("[tiers]\n", "[rewards]\ncoupon_reminder_days = 0\n\n[tiers]\n"),
            ["rewards.coupon_reminder_days"],
            id="a coupon reminder on the day of expiry",
        ),
        pytest.param(
            _broken('multiplier = "1.5"', 'multiplier = "-1.5"'),
            ["tiers.ladder.2.multiplier"],
            id="a negative tier multiplier",
        ),
        pytest.param(
            _broken('currency = "CNY"', 'currency = "RMB"'),
            ["currency", "RMB"],
            id="a program currency that is not ISO 4217",
        ),
        pytest.param(
            _broken('rates = { CNY = "1" }', 'rates = { CNY = "1", usd = "7" }'),
            ["earning.rates.usd", "ISO 4217"],
            id="a rate for a currency that is not ISO 4217",
        ),
        pytest.param(
            _broken("expiry_days = 365", "expiry_days = 0"),
            ["earning.expiry_days"],
            id="points that expire the day they are earned",
        ),
        pytest.param(
            _broken('threshold = "5000"', "threshold = 5000.5"),
            ["tiers.ladder.1.threshold"],
            id="a threshold written as a float",
        ),
        pytest.param(
            _broken('currency = "CNY"', 'currency = "CNY"\nsupport_adjustment_limit = -1'),
            ["support_adjustment_limit", "greater than or equal to 0"],
            id="a negative support adjustment limit",
        ),
        pytest.param(
            _broken('currency = "CNY"', 'currency = "CNY"\nsupport_adjustment_limit = 50.5'),
            ["support_adjustment_limit"],
            id="a support adjustment limit that is not a whole number",
        ),
        pytest.param(
            _broken("validity_days = 365\n", ""),
            ["tiers.validity_days", "required"],
            id="a required key left out",
        ),
        pytest.param(
            _broken('currency = "CNY"', 'currency = "CNY"\npoint_value = "-0.01"'),
            ["point_value", "greater than or equal to 0"],
            id="a point worth less than nothing",
        ),
        pytest.param(
            _broken('currency = "CNY"', 'currency = "CNY"\ntime_zone = "Asia/Peking"'),
            ["time_zone", "IANA"],
            id="a time zone that does not exist",
        ),
        pytest.param(
            _broken('currency = "CNY"', f'currency = "CNY"\ntime_zone = "{"x" * 5000}"'),
            ["time_zone", "IANA"],
            id="a time zone name longer than any file name",
        ),
    ],
)
def test_a_broken_program_file_is_refused_naming_the_file_and_the_problem(
    tmp_path: Path, text: str, names: list[str]
) -> None:
    path = tmp_path / "my-program.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ProgramError) as refused:
        load_program(path)

    message = str(refused.value)
    assert str(path) in message
    for name in names:
        assert name in message, f"{name!r} not in {message!r}"


def test_a_program_file_that_does_not_exist_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "program.toml"

    with pytest.raises(ProgramError) as refused:
        load_program(path)

    assert str(path) in str(refused.value)
    assert "does not exist" in str(refused.value)


def test_a_program_file_that_is_not_utf8_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "program.toml"
    path.write_bytes(VALID_PROGRAM.encode("utf-8") + b"# \xff\xfe\n")

    with pytest.raises(ProgramError) as refused:
        load_program(path)

    assert str(path) in str(refused.value)


def test_a_program_error_lists_every_problem_not_just_the_first(tmp_path: Path) -> None:
    text = _broken('rates = { CNY = "1" }', 'rates = { CNY = "-1" }').replace(
        'multiplier = "1.25"', 'multiplier = "0"'
    )
    path = tmp_path / "program.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ProgramError) as refused:
        load_program(path)

    assert "earning.rates.CNY" in str(refused.value)
    assert "tiers.ladder.1.multiplier" in str(refused.value)


# --- the feedback section -------------------------------------------------------------------


def test_the_default_program_surveys_30_percent_of_purchases_3_days_later_once_a_month() -> None:
    feedback = load_program().feedback

    assert (feedback.delay_hours, feedback.sample_rate) == (72, 0.3)
    assert (feedback.cooldown_days, feedback.survey_validity_days) == (30, 14)
    assert feedback.goodwill_points == 100


def test_a_program_without_a_feedback_section_surveys_with_the_defaults_and_grants_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "program.toml"
    path.write_text(VALID_PROGRAM, encoding="utf-8")

    feedback = load_program(path).feedback

    assert (feedback.delay_hours, feedback.sample_rate, feedback.cooldown_days) == (72, 0.3, 30)
    assert feedback.goodwill_points == 0


@pytest.mark.parametrize(
    ("section", "names"),
    [
        pytest.param("sample_rate = 1.5", ["feedback.sample_rate"], id="a sample rate above 1"),
        pytest.param("goodwill_points = -5", ["feedback.goodwill_points"], id="negative goodwill"),
        pytest.param("survey_validity_days = 0", ["feedback.survey_validity_days"], id="no time"),
        pytest.param("delay_days = 3", ["feedback.delay_days"], id="a key it does not have"),
    ],
)
def test_a_broken_feedback_section_is_refused_naming_the_key(
    tmp_path: Path, section: str, names: list[str]
) -> None:
    path = tmp_path / "program.toml"
    path.write_text(VALID_PROGRAM + f"\n[feedback]\n{section}\n", encoding="utf-8")

    with pytest.raises(ProgramError) as refused:
        load_program(path)

    for name in names:
        assert name in str(refused.value)
