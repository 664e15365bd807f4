"""The chaos oracle's model of the default program, on small hand-made stories: the run is only
as good as this arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from loyalty_devkit.chaos.model import Action, MemberModel, Purchase, Refund, earn
from loyalty_devkit.chaos.oracle import check_earn_tiers, expected_for, identity_left
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
    e = expected_for(m, earn_tiers={}, redeemed=0, adjusted=0, answer_scores=[])
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
    e = expected_for(m, earn_tiers={}, redeemed=0, adjusted=0, answer_scores=[])
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
    e = expected_for(m, earn_tiers={"o-2": "gold"}, redeemed=0, adjusted=0, answer_scores=[])
    assert e.lifetime_earned == 4000 + 25500 + 150


def test_redemptions_adjustments_and_goodwill() -> None:
    m = MemberModel("m-1", NOW)
    m.purchase(purchase(1, "1000.00", 20))
    e = expected_for(m, earn_tiers={}, redeemed=300, adjusted=-50, answer_scores=[9, 3, 2])
    assert (e.available, e.lifetime_earned) == (1000 - 300 - 50 + 100, 1000 - 50 + 100)
    assert e.notifications["detractor_alert"] == 2


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
    e = expected_for(m, earn_tiers={}, redeemed=0, adjusted=0, answer_scores=[])
    assert (e.available, e.ledger["earn"]) == (5 * 20 + 20 + 50, 5 * 20 + 20 + 50)


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
