"""The chaos oracle's model of the default program, on small hand-made stories: the run is only
as good as this arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

from loyalty_devkit.chaos.model import (
    RETURN_WINDOW,
    Action,
    MemberModel,
    Purchase,
    Refund,
    earn,
)
from loyalty_devkit.chaos.oracle import (
    check_earn_tiers,
    expected_for,
    identity_left,
    ledger_bonuses,
)
from loyalty_devkit.chaos.workload import Gate, Publish, generate

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def purchase(n: int, total: str, days_ago: float, currency: str = "CNY") -> Purchase:
    return Purchase(f"e-{n}", f"o-{n}", Decimal(total), currency, NOW - timedelta(days=days_ago))


def refund(n: int, order: int, amount: str) -> Refund:
    return Refund(f"r-{n}", f"o-{order}", f"rf-{n}", Decimal(amount), "CNY", NOW)


def test_earning_is_floor_of_total_times_multiplier() -> None:
    assert earn(Decimal("399.99"), "CNY", "bronze") == 399
    assert earn(Decimal("399.99"), "CNY", "silver") == 498  # floor(399 x 1.25)
    assert earn(Decimal("1000"), "USD", "gold") == 0


def test_pending_available_expired_and_proportional_refunds() -> None:
    m = MemberModel("m-1", NOW)
    m.purchase(purchase(1, "1000.00", 2))  # pending
    m.purchase(purchase(2, "1000.00", 30))  # available
    m.purchase(purchase(3, "100.00", 400))  # available, then expired
    m.refund(refund(1, 1, "250.00"))
    m.refund(refund(2, 2, "333.33"))
    m.refund(refund(3, 2, "666.67"))  # the rest: all of the order's points
    e = expected_for(m, earn_tiers={}, redeemed=0, adjusted=0, answer_scores=[], detractor_days=0)
    assert (e.pending, e.available, e.lifetime_earned) == (750, 0, 850)
    assert e.ledger == {
        "earn": 2100,
        "reverse": -1250,
        "expire": -100,
        "redeem": 0,
        "redeem_cancel": 0,
        "adjust": 0,
    }
    assert e.qualifying_spend == Decimal("750.00")  # 2000 in the window, 1250 refunded
    assert (e.orders, e.clv) == (2, Decimal("850.00"))


def test_a_refund_before_its_purchase_waits_for_it() -> None:
    m = MemberModel("m-1", NOW)
    m.refund(refund(1, 1, "500.00"))
    assert m.spend == Decimal(0)  # kept until the purchase comes
    m.purchase(purchase(1, "1000.00", 20))
    e = expected_for(m, earn_tiers={}, redeemed=0, adjusted=0, answer_scores=[], detractor_days=0)
    assert (e.available, e.lifetime_earned, e.qualifying_spend) == (500, 500, Decimal("500.00"))


def test_a_waiting_refund_is_judged_before_the_upgrade_check() -> None:
    m = MemberModel("m-1", NOW)
    m.refund(refund(1, 1, "1000.00"))
    assert not m.purchase(purchase(1, "5500.00", 20))  # 4,500 after the refund: bronze
    assert m.tier == "bronze"


def test_crossing_a_threshold_opens_a_new_stretch_and_either_tier_is_accepted() -> None:
    m = MemberModel("m-1", NOW)
    assert not m.purchase(purchase(1, "4000.00", 20))
    assert m.purchase(purchase(2, "17000.00", 20))  # 21,000: bronze -> gold at once
    assert not m.purchase(purchase(3, "100.00", 20))
    assert (m.tier, m.upgrades) == ("gold", 1)
    assert check_earn_tiers(m, {"o-1": "bronze", "o-2": "gold", "o-3": "gold"}) == []
    assert check_earn_tiers(m, {"o-1": "gold", "o-2": "bronze"})  # not monotone
    assert check_earn_tiers(m, {"o-3": "bronze"})  # after the gate: gold only
    e = expected_for(
        m, earn_tiers={"o-2": "gold"}, redeemed=0, adjusted=0, answer_scores=[], detractor_days=0
    )
    assert e.lifetime_earned == 4000 + 25500 + 150


def test_redemptions_adjustments_and_goodwill() -> None:
    m = MemberModel("m-1", NOW)
    m.purchase(purchase(1, "1000.00", 20))
    e = expected_for(
        m, earn_tiers={}, redeemed=300, adjusted=-50, answer_scores=[9, 3, 2], detractor_days=1
    )
    assert (e.available, e.lifetime_earned) == (1000 - 300 - 50 + 100, 1000 - 50 + 100)
    assert e.notifications["detractor_alert"] == 1, "two detractor answers on one day: one alert"


def test_actions_earn_once_each_within_their_caps_in_the_program_s_days() -> None:
    m = MemberModel("m-1", NOW)
    evening = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    reviews = [Action(f"e-{n}", f"a-{n}", "review.written", evening) for n in range(6)]
    for action in [
        *reviews,
        Action("e-6", "a-6", "review.written", evening + timedelta(hours=1)),  # the next day
        Action("e-7", "a-0", "review.written", NOW),  # an action id again: nothing
        Action("e-8", "a-8", "profile.completed", NOW),
        Action("e-9", "a-9", "profile.completed", NOW),  # once per member
        Action("e-10", "a-10", "newsletter.opened", NOW),  # not in the program
    ]:
        m.act(action)
    e = expected_for(m, earn_tiers={}, redeemed=0, adjusted=0, answer_scores=[], detractor_days=0)
    assert (e.available, e.ledger["earn"]) == (5 * 20 + 20 + 50, 5 * 20 + 20 + 50)


def test_a_referral_pays_both_members_once_and_their_ledgers_name_it() -> None:
    referee, referrer = MemberModel("m-2", NOW), MemberModel("m-1", NOW)
    referee.purchase(purchase(1, "100.00", 20))
    referee.referral("m-2", "m-1", 200)
    referrer.referral("m-2", "m-1", 500)
    referrer.referral("m-3", "m-1", 500)

    e = expected_for(
        referrer, earn_tiers={}, redeemed=0, adjusted=0, answer_scores=[], detractor_days=0
    )
    assert (e.available, e.lifetime_earned, e.ledger["earn"]) == (1000, 1000, 1000)
    assert e.notifications["referral_rewarded"] == 2
    assert e.bonuses == [("referral of m-2 by m-1", 500), ("referral of m-3 by m-1", 500)]
    e = expected_for(
        referee, earn_tiers={}, redeemed=0, adjusted=0, answer_scores=[], detractor_days=0
    )
    assert (e.available, e.lifetime_earned) == (100 + 200, 100 + 200)
    entry = {"type": "earn", "points": 200, "details": {"referral": "m-2", "referrer": "m-1"}}
    purchase_entry = {"type": "earn", "points": 100, "details": {"tier": "bronze"}}
    assert ledger_bonuses([purchase_entry, entry]) == e.bonuses
    assert ledger_bonuses([purchase_entry, entry, entry]) != e.bonuses  # paid twice


def test_the_birthday_bonus_is_the_tier_the_member_ends_with_and_bronze_earns_none() -> None:
    m = MemberModel("m-1", NOW, birthday_year=2026)
    assert m.bonuses() == []  # bronze: 0 points, no entry
    m.purchase(purchase(1, "21000.00", 20))  # gold
    e = expected_for(m, earn_tiers={}, redeemed=0, adjusted=0, answer_scores=[], detractor_days=0)
    assert e.bonuses == [("birthday 2026 at gold", 200)]
    assert e.lifetime_earned == 21000 + 200
    entry = {"type": "earn", "points": 200, "details": {"birthday": 2026, "tier": "gold"}}
    assert ledger_bonuses([entry]) == e.bonuses
    assert ledger_bonuses([{**entry, "details": {"birthday": 2026, "tier": "silver"}}]) != e.bonuses


def test_referred_members_buy_only_past_the_return_window_and_never_refund() -> None:
    workload = generate(5, events=3000, members=300, now=NOW, refund_probes=True, drive_s=60)
    plans = workload.members
    referees = [p for p in plans.values() if p.referred_by not in (None, p.member_id)]

    assert referees, "nobody is referred"
    assert any(p.referred_by == p.member_id for p in plans.values()), "nobody refers themself"
    load = [p.referred_by for p in referees]
    for plan in referees:
        referrer = plans[str(plan.referred_by)]
        assert plan.role in ("plain", "answerer")
        assert referrer.role in ("plain", "answerer")
        assert referrer.referred_by is None  # no cycles
        assert load.count(referrer.member_id) <= 3
        assert not plan.identity
        assert not referrer.identity
        published = [s for s in plan.steps if isinstance(s, Publish)]
        kinds = [s.kind for s in published]
        assert "refund" not in kinds
        enrolment = orjson.loads(published[kinds.index("enrolment")].value)
        assert enrolment["data"]["referred_by"] == referrer.member_id
        assert plan.model is not None
        for order in plan.model.orders.values():
            assert order.purchase.time + RETURN_WINDOW < NOW
            assert order.refunded == 0
        if plan.model.orders:
            assert (plan.member_id, referrer.member_id) in plan.model.referrals


def test_a_birthday_today_is_published_after_the_member_s_last_tier_gate() -> None:
    workload = generate(5, events=3000, members=300, now=NOW, drive_s=60)
    birthdays = [p for p in workload.members.values() if p.model and p.model.birthday_year]

    assert any(p.model and p.model.tier != "bronze" for p in birthdays)
    for plan in birthdays:
        assert plan.role in ("plain", "answerer")
        assert not plan.identity
        assert plan.model is not None
        assert plan.model.birthday_year == 2026
        last = plan.steps[-1]
        assert isinstance(last, Publish)
        assert last.kind in ("enrolment", "duplicate")
        profile = orjson.loads(last.value)["data"]
        assert profile["birthday"].endswith("-11-24")  # 20:00 in Shanghai
        gates = [n for n, s in enumerate(plan.steps) if isinstance(s, Gate)]
        with_birthday = [
            n
            for n, s in enumerate(plan.steps)
            if isinstance(s, Publish) and s.kind in ("enrolment", "duplicate") and _birthday(s)
        ]
        assert min(with_birthday) > max(gates, default=-1)


def _birthday(step: Publish) -> str | None:
    try:
        data = orjson.loads(step.value).get("data", {})
    except orjson.JSONDecodeError:
        return None
    birthday = data.get("birthday")
    return birthday if isinstance(birthday, str) and birthday.endswith("-11-24") else None


def test_no_birthday_is_due_when_the_run_could_end_on_another_day_in_the_program_s_zone() -> None:
    late = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    workload = generate(5, events=600, members=60, now=late, drive_s=60)

    assert not any(p.model and p.model.birthday_year for p in workload.members.values())


def test_the_workload_is_replayable_and_gated_where_tiers_change() -> None:
    a = generate(11, events=600, members=40, now=NOW)
    b = generate(11, events=600, members=40, now=NOW)
    assert a.order == b.order
    assert a.events >= 600
    for plan in a.members.values():
        steps = plan.steps
        for n, step in enumerate(steps):
            if isinstance(step, Gate):
                before = steps[n - 1]
                assert isinstance(before, Publish)
                assert before.valid_event_id == step.event_id


def test_some_plain_members_ask_to_be_erased_after_their_enrolment_under_fire() -> None:
    workload = generate(7, events=4000, members=400, now=NOW)
    erased = [p for p in workload.members.values() if p.identity]

    assert erased, "the workload erases nobody"
    for plan in erased:
        kinds = [s.kind for s in plan.steps if isinstance(s, Publish)]
        assert plan.role == "plain"
        assert kinds.count("erasure") == 1
        assert kinds.index("enrolment") < kinds.index("erasure")
        assert plan.identity == (f"Member {plan.member_id}", f"{plan.member_id}@example.com")


def test_an_erased_member_s_exports_may_show_nothing_of_who_they_were() -> None:
    identity = ("Member m-1", "m-1@example.com")
    clean = {"erasures": [{"request_id": "e-1"}], "data": {"member_contact": [{"name": ""}]}}
    exports = {s: clean for s in ("points", "tiers", "feedback")}

    assert identity_left(identity, {**exports, "notifications": clean}) == []
    left = {"erasures": [], "data": {"member_contact": [{"email": "m-1@example.com"}]}}
    assert identity_left(identity, {**exports, "notifications": left}) == [
        "notifications still holds 'm-1@example.com'",
        "notifications records no erasure",
    ]
    assert identity_left(identity, exports) == ["no export from notifications"]
