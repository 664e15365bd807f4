"""The chaos workload: one seeded `random.Random`, so the same seed gives the same events.

Members get a role that decides what may happen to them, so that every compared figure has one
right answer whatever the timing (docs/operations.md#chaos explains each choice):

- `plain`: enrolments, purchases (recent: pending; backdated 16-300 days: available at once;
  older than 380 days: available, then expired by the jobs), partial and full refunds (some
  published before their purchase), exact duplicates, the same order under a new event id,
  a few USD purchases, invalid records (bad JSON, negative total, subject != member_id) and
  unknown types.
- `redeemer`: no purchases older than the expiry (redemptions take the oldest lots first, and
  whether a lot expired before or after a redemption would change what is left). Once all its
  events are applied, a burst of concurrent redemptions over HTTP (some keys replayed, one
  with another body), then admin adjustments.
- `adjuster`: no expiring purchases either; admin adjustments (positive and negative) at any
  time during the run.
- `answerer`: answers NPS about some of its orders in the app (a detractor gets 100 goodwill
  points once; customer service gets an alert per member and day of detractor answers).

Every role also reports member actions (reviews, check-ins, a completed profile, one the program
does not name) over the last three days, some again under a new event id: their points are
available at once and expire a year later, so no run sees them expire.

Referrals and birthdays (contract 5.3, the program's `birthday_points`), among `plain` and
`answerer` members who are never erased, so each bonus has one right answer whatever the timing:

- a referred member's enrolment names another member of the run (`referred_by`; a referrer has
  at most three, far below the yearly cap, and is never referred: no cycles). Their purchases
  are all older than the return window (backdated or old) and never refunded, so whichever
  purchase points sees first is available and stays so: the bonus is due as soon as points has
  the enrolment and one purchase, and can never be voided. A few members refer themselves
  (nothing is paid).
- a birthday member's enrolment says their birthday is today in the program's time zone, and is
  published after the member's last tier gate (moved to the end of their events): points knows
  the tier the member ends with before the birthday can be paid, so the bonus is that tier's.
  Left out when the run could cross midnight in the program's zone. Other enrolments may carry a
  birthday at least three days away (no bonus).

Some enrolled `plain` members ask to be forgotten (`member.erasure_requested`) somewhere after
their enrolment, while their purchases and refunds still come: they must end with the same
figures as if they had not, and no service may still show their name or email (`identity`).

Where a member's purchase lifts its qualifying spend over a threshold, the member's later
events wait (a `Gate`) until the points service has applied that purchase and knows the new
tier; the stretch of purchases before it may earn at the old or the new tier (the
tier.changed can overtake them in the points service), which the oracle accepts and checks.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import orjson

from loyalty_devkit.chaos.model import (
    EXPIRY,
    PROGRAM_ZONE,
    REFEREE_POINTS,
    REFERRER_POINTS,
    RETURN_WINDOW,
    Action,
    MemberModel,
    Purchase,
    Refund,
)
from loyalty_shared.events.envelope import cloud_event

PURCHASES = "commerce.purchases"
MEMBERS = "commerce.members"
Role = Literal["plain", "redeemer", "adjuster", "answerer"]
CATEGORIES = ("apparel", "beauty", "electronics", "grocery", "home")
#: The share of enrolled plain members who ask to be erased during the run.
ERASED_SHARE = 0.05
#: Who may refer, be referred or have a birthday bonus: roles whose balance no HTTP call reads
#: while the bonus may land (see the module's docstring).
BONUS_ROLES: tuple[Role, ...] = ("plain", "answerer")
#: The share of members referred by another member of the run, and of those referring themselves.
REFERRED_SHARE = 0.06
SELF_REFERRED_SHARE = 0.01
#: At most this many referred members per referrer (the program's yearly cap is 20).
REFEREES_PER_REFERRER = 3


@dataclass(frozen=True)
class Publish:
    member_id: str
    topic: str
    value: bytes
    key: bytes
    #: what the oracle applies: a Purchase, a Refund, an Action, or None (enrolment, invalid,
    #: unknown type)
    effect: Purchase | Refund | Action | None = None
    #: an event the services must apply (an id the inbox keeps), for the gates
    valid_event_id: str | None = None
    kind: str = "event"


@dataclass(frozen=True)
class Gate:
    """Hold the member's next events until points applied `event_id` and knows `tier`."""

    member_id: str
    event_id: str
    tier: str


Step = Publish | Gate


@dataclass
class RedemptionPlan:
    amounts: list[int]  # asked at once, concurrently
    replays: list[int]  # indexes asked again with the same key and body
    conflicting: int | None  # index asked again with the same key and another body
    cancel: bool = False  # an admin cancels the first that succeeded, twice at once


@dataclass
class AnswerPlan:
    order_id: str
    score: int


@dataclass
class MemberPlan:
    member_id: str
    role: Role
    steps: list[Step] = field(default_factory=list)
    redemption: RedemptionPlan | None = None
    adjustments: list[int] = field(default_factory=list)
    answers: list[AnswerPlan] = field(default_factory=list)
    model: MemberModel | None = None
    #: What identified an erased member (their profile's name and email); empty if not erased.
    identity: tuple[str, ...] = ()
    #: The member their enrolment names as referrer (themselves for a self-referral).
    referred_by: str | None = None
    #: Another member names this one as referrer: never erased.
    refers: bool = False


@dataclass
class Workload:
    seed: int
    now: datetime
    members: dict[str, MemberPlan]
    order: list[Step]  # every member's steps, interleaved, in publication order

    @property
    def events(self) -> int:
        return sum(1 for s in self.order if isinstance(s, Publish))


def _event(
    event_type: str, event_id: str, member_id: str, data: dict[str, Any], time: datetime
) -> dict[str, Any]:
    return cloud_event(
        event_type, data, source="shop/chaos", subject=member_id, event_id=event_id, time=time
    )


class _Generator:
    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.seed = seed
        self.refund_probes = False
        #: how long the drive lasts: purchases whose window or expiry ends within it (0: none)
        self.drive_s = 0.0
        self.orders: list[str] = []  # every order generated so far, for cross-member probes
        #: today in the program's time zone, when no part of the run can fall on another day
        #: (birthday members only then)
        self.today: date | None = None

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def money(self, low: float, high: float) -> Decimal:
        cents = self.rng.randint(int(low * 100), int(high * 100))
        return Decimal(cents) / 100

    def total(self) -> Decimal:
        roll = self.rng.random()
        if roll < 0.04:
            return self.money(3000, 16000)  # the big spenders that cross thresholds
        if roll < 0.30:
            return self.money(300, 2500)
        return self.money(1, 300)

    def purchase_time(self, role: Role) -> tuple[datetime, str]:
        roll = self.rng.random()
        if self.drive_s and roll < 0.05 and role != "redeemer":
            # its return window, or its expiry, ends while the run goes on: the jobs mature
            # or expire it under fire (both end the same whatever happened first)
            during = timedelta(seconds=self.rng.uniform(5, 0.8 * self.drive_s))
            if role == "adjuster" or self.rng.random() < 0.6:
                return (self.now - RETURN_WINDOW + during).replace(microsecond=0), "maturing"
            return (self.now - EXPIRY + during).replace(microsecond=0), "old"
        roll = self.rng.random()
        if roll < 0.40:
            # recent: pending throughout the run (the window ends 14 days after)
            when, age = (
                self.now - timedelta(days=self.rng.uniform(0.01, 12)),
                "recent",
            )
        elif roll < 0.90 or role in ("redeemer", "adjuster"):
            when, age = self.now - timedelta(days=self.rng.uniform(16, 300)), "backdated"
        else:
            when, age = self.now - timedelta(days=self.rng.uniform(380, 700)), "old"
        if role == "redeemer" and age == "recent":
            when, age = self.now - timedelta(days=self.rng.uniform(16, 300)), "backdated"
        return when.replace(microsecond=0), age

    def profile(self, member_id: str, referred_by: str | None = None) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "member_id": member_id,
            "name": f"Member {member_id}",
            "email": f"{member_id}@example.com",
            "locale": self.rng.choice(["zh-CN", "en"]),
            "consents": {
                "email": self.rng.random() < 0.8,
                "sms": self.rng.random() < 0.3,
                "push": self.rng.random() < 0.5,
            },
        }
        if self.rng.random() < 0.3:  # a birthday at least three days from today: no bonus
            profile["birthday"] = self.birthday(days_away=self.rng.randint(3, 360))
        if referred_by is not None:
            profile["referred_by"] = referred_by
        return profile

    def birthday(self, *, days_away: int) -> str:
        """A birth date `days_away` days after today in the program's zone, in a leap year (so
        29 February is a date too)."""
        day = self.now.astimezone(PROGRAM_ZONE).date() + timedelta(days=days_away)
        return day.replace(year=self.rng.choice(range(1960, 2008, 4))).isoformat()


def _role(rng: random.Random) -> Role:
    roll = rng.random()
    if roll < 0.08:
        return "redeemer"
    if roll < 0.13:
        return "adjuster"
    if roll < 0.21:
        return "answerer"
    return "plain"


def generate(
    seed: int,
    *,
    events: int,
    members: int,
    now: datetime | None = None,
    refund_probes: bool = False,
    drive_s: float = 0.0,
) -> Workload:
    """`refund_probes`: add refunds the contract calls invalid although their envelope and data
    are well-formed (larger than what is left, a refund id again under a new event id, an order
    of another member); each must change nothing anywhere (docs/events.md#refunds)."""
    now = now or datetime.now(UTC)
    g = _Generator(seed, now)
    g.refund_probes = refund_probes
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if midnight - now > timedelta(seconds=drive_s + 3600):
        # not across a UTC midnight: the qualifying window's first day must not move meanwhile
        g.drive_s = drive_s
    local = now.astimezone(PROGRAM_ZONE)
    local_midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if local_midnight - local > timedelta(seconds=drive_s + 3600):
        # the run ends on the day it began in the program's zone: birthdays today are paid today
        g.today = local.date()
    rng = g.rng
    member_ids = [f"m-{n:05d}" for n in range(1, members + 1)]
    plans = {m: MemberPlan(m, _role(rng)) for m in member_ids}
    _referrals(rng, plans)
    budget = {m: 0 for m in member_ids}
    for _ in range(max(events, members)):
        budget[rng.choice(member_ids)] += 1
    for member_id in member_ids:
        _member_script(g, plans[member_id], max(budget[member_id], 2))
    for plan in plans.values():
        referrer = plans.get(plan.referred_by or "")
        if referrer is None or referrer is plan:
            continue
        assert plan.model is not None
        assert referrer.model is not None
        enrolled = any(isinstance(s, Publish) and s.kind == "enrolment" for s in plan.steps)
        if enrolled and plan.model.orders:  # a purchase: due at once, never voided
            plan.model.referral(plan.member_id, referrer.member_id, REFEREE_POINTS)
            referrer.model.referral(plan.member_id, referrer.member_id, REFERRER_POINTS)
    order = _interleave(rng, plans)
    return Workload(seed=seed, now=now, members=plans, order=order)


def _referrals(rng: random.Random, plans: dict[str, MemberPlan]) -> None:
    """Who refers whom: referred members and their referrers among `BONUS_ROLES`, two sets
    apart (no cycles), at most `REFEREES_PER_REFERRER` each; and a few self-referrals."""
    eligible = [m for m, plan in plans.items() if plan.role in BONUS_ROLES]
    rng.shuffle(eligible)
    referred = round(len(plans) * REFERRED_SHARE)
    selves = round(len(plans) * SELF_REFERRED_SHARE)
    referees, referrers = eligible[:referred], eligible[referred + selves :]
    for member in eligible[referred : referred + selves]:
        plans[member].referred_by = member
    load: dict[str, int] = {}
    for referee in referees:
        open_ = [r for r in referrers if load.get(r, 0) < REFEREES_PER_REFERRER]
        if not open_:
            break
        referrer = rng.choice(open_)
        load[referrer] = load.get(referrer, 0) + 1
        plans[referee].referred_by = referrer
        plans[referrer].refers = True


def _member_script(g: _Generator, plan: MemberPlan, budget: int) -> None:
    """The member's records in the order they are published; the model decides the gates."""
    rng, member_id = g.rng, plan.member_id
    key = member_id.encode()
    model = MemberModel(member_id, g.now, g.now + timedelta(seconds=g.drive_s))
    plan.model = model
    raw: list[Publish] = []  # before gates, in order
    enrol_at = rng.random()
    enrolled = rng.random() < 0.9
    if plan.referred_by is not None:  # enrolled, in the first half of their events
        enrol_at, enrolled = enrol_at / 2, True
    #: referred by another member: purchases available at once and never refunded
    referee = plan.referred_by not in (None, member_id)
    purchases: list[tuple[Publish, Purchase, str]] = []
    n = 0
    while len(raw) < budget:
        n += 1
        if enrolled and enrol_at <= len(raw) / budget:
            enrolled = False
            event_type = "member.enrolled"
            profile = g.profile(member_id, plan.referred_by)
            body = _event(event_type, g.uuid(), member_id, profile, g.now)
            raw.append(Publish(member_id, MEMBERS, orjson.dumps(body), key, kind="enrolment"))
            continue
        roll = rng.random()
        if roll < 0.02:
            raw.append(_invalid(g, member_id))
            continue
        if roll < 0.025:
            body = _event(
                "purchase.teleported", g.uuid(), member_id, {"member_id": member_id}, g.now
            )
            raw.append(Publish(member_id, PURCHASES, orjson.dumps(body), key, kind="unknown-type"))
            continue
        if roll < 0.06 and raw:
            earlier = rng.choice(raw)  # the same record again: one effect
            raw.append(
                Publish(
                    member_id,
                    earlier.topic,
                    earlier.value,
                    key,
                    earlier.effect,
                    None,
                    kind="duplicate",
                )
            )
            continue
        if roll < 0.065 and purchases:
            earlier_pub, p, _ = rng.choice(purchases)
            body = orjson.loads(earlier_pub.value)
            body["id"] = g.uuid()  # the same order under another event id: refused
            raw.append(
                Publish(member_id, PURCHASES, orjson.dumps(body), key, kind="duplicate-order")
            )
            continue
        if roll < 0.07:
            raw.append(_action(g, member_id, raw))
            continue
        if g.refund_probes and roll < 0.075 and purchases:
            raw.append(_probe(g, member_id, raw, [(p, age) for _, p, age in purchases]))
            continue
        if roll < 0.20 and purchases and not referee:
            refundable = [
                (pub, p)
                for pub, p, age in purchases
                if age != "old" and p.currency == "CNY" and p.total > _refunded(raw, p.order_id)
            ]
            if refundable:
                pub, p = rng.choice(refundable)
                left = p.total - _refunded(raw, p.order_id)
                amount = left if rng.random() < 0.5 else g.money(0.01, float(left))
                amount = max(min(amount, left), Decimal("0.01"))
                raw.append(_refund(g, member_id, p, amount))
                continue
        # a purchase
        time, age = g.purchase_time(plan.role)
        if plan.role in ("redeemer", "adjuster") and age == "old":
            time, age = g.now - timedelta(days=100), "backdated"
        if referee and age in ("recent", "maturing"):
            time, age = g.now - timedelta(days=100), "backdated"
        currency = "USD" if rng.random() < 0.01 else "CNY"
        total = g.total()
        order_id = f"o-{member_id}-{n}"
        p = Purchase(g.uuid(), order_id, total, currency, time)
        data = {
            "order_id": order_id,
            "member_id": member_id,
            "channel": rng.choice(["online", "store", "app"]),
            "currency": currency,
            "total": str(total),
            "items": [
                {
                    "sku": f"sku-{rng.randint(1, 500)}",
                    "category": rng.choice(CATEGORIES),
                    "quantity": 1,
                    "unit_price": str(total),
                }
            ],
        }
        body = _event("purchase.completed", p.event_id, member_id, data, time)
        pub = Publish(member_id, PURCHASES, orjson.dumps(body), key, p, p.event_id, "purchase")
        g.orders.append(order_id)
        purchases.append((pub, p, age))
        # sometimes a refund of this order was published just before it (out of order)
        if age != "old" and currency == "CNY" and rng.random() < 0.03 and not referee:
            raw.append(_refund(g, member_id, p, g.money(0.01, float(total))))
        raw.append(pub)
    # refunds published before their purchase must come before it: _refund placed them there
    enrolment = next((n for n, pub in enumerate(raw) if pub.kind == "enrolment"), None)
    bonus = plan.referred_by is not None or plan.refers
    if plan.role == "plain" and enrolment is not None and rng.random() < ERASED_SHARE and not bonus:
        profile = orjson.loads(raw[enrolment].value)["data"]
        plan.identity = (profile["name"], profile["email"])
        raw.insert(rng.randint(enrolment + 1, len(raw)), _erasure(g, member_id))
    plan.steps = _gate(model, raw)
    # most members who reached a tier with a birthday bonus, a few who did not
    birthday_share = 0.5 if model.tier != "bronze" else 0.05
    if g.today and plan.role in BONUS_ROLES and not plan.identity and rng.random() < birthday_share:
        _birthday_today(g, plan)
    _http_plans(g, plan, [(p, age) for _, p, age in purchases])


def _birthday_today(g: _Generator, plan: MemberPlan) -> None:
    """Make today the member's birthday: their enrolment says so and moves after every other
    step, so after their last tier gate (points knows their final tier before it can pay)."""
    assert g.today is not None
    assert plan.model is not None
    enrolment = next(
        (s for s in plan.steps if isinstance(s, Publish) and s.kind == "enrolment"), None
    )
    if enrolment is None:
        return
    body = orjson.loads(enrolment.value)
    body["data"]["birthday"] = g.birthday(days_away=0)
    value = orjson.dumps(body)
    # the enrolment and its exact copies (same event id) all move, or a copy would come first
    copies = [s for s in plan.steps if isinstance(s, Publish) and s.value == enrolment.value]
    plan.steps = [s for s in plan.steps if not any(s is c for c in copies)]
    plan.steps += [replace(c, value=value) for c in copies]
    plan.model.birthday_year = g.today.year


def _action(g: _Generator, member_id: str, raw: list[Publish]) -> Publish:
    """A member action of the last three days; sometimes one reported before, again under a
    new event id (it earns once)."""
    rng = g.rng
    earlier = [pub.effect for pub in raw if isinstance(pub.effect, Action)]
    if earlier and rng.random() < 0.15:
        again = rng.choice(earlier)
        action = Action(g.uuid(), again.action_id, again.action, again.time)
    else:
        name = rng.choice(
            ["review.written"] * 4
            + ["store.checkin"] * 3
            + ["profile.completed"] * 2
            + ["newsletter.opened"]
        )
        time = g.now - timedelta(days=3 * rng.random())
        action = Action(g.uuid(), f"a-{g.uuid()}", name, time)
    data = {
        "member_id": member_id,
        "action_id": action.action_id,
        "action": action.action,
        "occurred_at": action.time.isoformat(),
    }
    body = _event("member.action", action.event_id, member_id, data, g.now)
    return Publish(
        member_id,
        MEMBERS,
        orjson.dumps(body),
        member_id.encode(),
        action,
        action.event_id,
        "action",
    )


def _erasure(g: _Generator, member_id: str) -> Publish:
    data = {"member_id": member_id, "requested_at": g.now.isoformat()}
    body = _event("member.erasure_requested", g.uuid(), member_id, data, g.now)
    return Publish(member_id, MEMBERS, orjson.dumps(body), member_id.encode(), kind="erasure")


def _refunded(raw: list[Publish], order_id: str) -> Decimal:
    seen: set[str] = set()
    total = Decimal(0)
    for pub in raw:
        effect = pub.effect
        if (
            isinstance(effect, Refund)
            and effect.order_id == order_id
            and pub.kind == "refund"
            and effect.event_id not in seen
        ):
            seen.add(effect.event_id)
            total += effect.amount
    return total


def _refund(g: _Generator, member_id: str, p: Purchase, amount: Decimal) -> Publish:
    refund_id = f"r-{g.uuid()[:13]}"
    time = min(p.time + timedelta(hours=g.rng.uniform(1, 48)), g.now - timedelta(minutes=1))
    r = Refund(g.uuid(), p.order_id, refund_id, amount, p.currency, time.replace(microsecond=0))
    data = {
        "order_id": p.order_id,
        "refund_id": refund_id,
        "member_id": member_id,
        "currency": p.currency,
        "amount": str(amount),
    }
    body = _event("purchase.refunded", r.event_id, member_id, data, r.time)
    return Publish(
        member_id, PURCHASES, orjson.dumps(body), member_id.encode(), r, r.event_id, "refund"
    )


def _probe(
    g: _Generator, member_id: str, raw: list[Publish], purchases: list[tuple[Purchase, str]]
) -> Publish:
    """A well-formed refund the contract refuses: it must change nothing anywhere."""
    rng = g.rng
    candidates = [p for p, age in purchases if age != "old" and p.currency == "CNY"]
    kind = rng.choice(["refund-exceeds", "refund-replay", "refund-other-member"])
    earlier = [pub.effect for pub in raw if pub.kind == "refund" and isinstance(pub.effect, Refund)]
    if kind == "refund-replay" and earlier:
        r = rng.choice(earlier)
        data = {
            "order_id": r.order_id,
            "refund_id": r.refund_id,
            "member_id": member_id,
            "currency": r.currency,
            "amount": str(r.amount),
        }
    elif kind == "refund-other-member" and g.orders:
        kind = "refund-other-member"
        data = {
            "order_id": rng.choice(g.orders[: max(1, len(g.orders) - len(purchases))]),
            "refund_id": f"r-{g.uuid()[:13]}",
            "member_id": member_id,
            "currency": "CNY",
            "amount": "1.00",
        }
        if data["order_id"].startswith(f"o-{member_id}-"):
            kind = "refund-exceeds"
    else:
        kind = "refund-exceeds"
    if kind == "refund-exceeds":
        p = rng.choice(candidates) if candidates else purchases[0][0]
        data = {
            "order_id": p.order_id,
            "refund_id": f"r-{g.uuid()[:13]}",
            "member_id": member_id,
            "currency": p.currency,
            "amount": str(p.total - _refunded(raw, p.order_id) + Decimal("10.00")),
        }
    body = _event("purchase.refunded", g.uuid(), member_id, data, g.now - timedelta(minutes=1))
    return Publish(member_id, PURCHASES, orjson.dumps(body), member_id.encode(), kind=kind)


def _invalid(g: _Generator, member_id: str) -> Publish:
    rng, key = g.rng, member_id.encode()
    kind = rng.choice(["bad-json", "negative-total", "subject-mismatch"])
    if kind == "bad-json":
        return Publish(member_id, PURCHASES, b'{"specversion": "1.0", "id": ', key, kind=kind)
    data = {
        "order_id": f"o-invalid-{g.uuid()[:8]}",
        "member_id": member_id,
        "channel": "online",
        "currency": "CNY",
        "total": "-10.00" if kind == "negative-total" else "10.00",
        "items": [{"sku": "sku-x", "category": "home", "quantity": 1, "unit_price": "10.00"}],
    }
    body = _event("purchase.completed", g.uuid(), member_id, data, g.now)
    if kind == "subject-mismatch":
        body["subject"] = f"{member_id}-other"
    return Publish(member_id, PURCHASES, orjson.dumps(body), key, kind=kind)


def _gate(model: MemberModel, raw: list[Publish]) -> list[Step]:
    """Run the model over the member's records; a gate after each purchase that upgrades."""
    steps: list[Step] = []
    for pub in raw:
        steps.append(pub)
        effect = pub.effect
        if pub.kind == "duplicate":
            continue  # the same id again: no effect (the inbox)
        if pub.kind == "duplicate-order":
            continue  # the order is already known: refused by points, ignored by the others
        if isinstance(effect, Purchase) and model.purchase(effect):
            assert pub.valid_event_id is not None
            steps.append(Gate(pub.member_id, pub.valid_event_id, model.tier))
        elif isinstance(effect, Refund):
            model.refund(effect)
        elif isinstance(effect, Action):
            model.act(effect)
    return steps


def _http_plans(g: _Generator, plan: MemberPlan, purchases: list[tuple[Purchase, str]]) -> None:
    rng = g.rng
    if plan.role == "redeemer":
        amounts = [rng.choice([50, 100, 200, 500, 1000, 2000]) for _ in range(rng.randint(2, 6))]
        replays = [i for i in range(len(amounts)) if rng.random() < 0.4]
        conflicting = rng.randrange(len(amounts)) if rng.random() < 0.3 else None
        plan.redemption = RedemptionPlan(amounts, replays, conflicting, rng.random() < 0.4)
    if plan.role in ("redeemer", "adjuster"):
        plan.adjustments = [rng.choice([-300, -50, 25, 100, 500]) for _ in range(rng.randint(1, 3))]
    if plan.role == "answerer" and purchases:
        chosen = rng.sample(purchases, min(len(purchases), rng.randint(1, 2)))
        plan.answers = [AnswerPlan(p.order_id, rng.randint(0, 10)) for p, _ in chosen]


def _interleave(rng: random.Random, plans: dict[str, MemberPlan]) -> list[Step]:
    """Merge the members' scripts at random, keeping each member's own order."""
    cursors = {m: 0 for m in plans}
    live = [m for m in plans if plans[m].steps]
    weights = [len(plans[m].steps) for m in live]
    # a weighted shuffle of member slots: each member appears once per step it has
    slots = [m for m, w in zip(live, weights, strict=True) for _ in range(w)]
    rng.shuffle(slots)
    order: list[Step] = []
    for m in slots:
        order.append(plans[m].steps[cursors[m]])
        cursors[m] += 1
    return order
