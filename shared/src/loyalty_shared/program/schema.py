"""The loyalty program: earning rates, windows and the tier ladder, as the operator writes it.

Strict on purpose: an unknown key is an error (a typo must not silently fall back to a default).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from loyalty_shared.events.fields import CurrencyCode, LocalizedText, Money


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Rate = Annotated[Decimal, Field(ge=0, le=1000)]
Multiplier = Annotated[Decimal, Field(gt=0, le=100)]


#: A bonus rule's multiplier: 2 means the rule adds once more the purchase's base points.
BonusMultiplier = Annotated[Decimal, Field(ge=1, le=100)]
Channel = Literal["online", "store", "app"]
RefundPolicy = Literal["proportional", "pending_only", "within_balance"]
Category = Annotated[str, Field(min_length=1, max_length=128)]
RuleName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


def _known_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        raise ValueError(f"{name!r} is not an IANA time zone such as 'Asia/Shanghai'") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_known_time_zone)]


#: Money per point: at most 6 fractional digits (a point may be worth less than a cent).
PointValue = Annotated[Decimal, Field(ge=0, le=1000, decimal_places=6)]


class Campaign(_Strict):
    """Bonus points for purchases made between `starts` and `ends` (local times in `time_zone`,
    `ends` excluded), optionally only on some channels or for some categories."""

    name: RuleName
    multiplier: BonusMultiplier
    starts: datetime
    ends: datetime
    time_zone: TimeZoneName
    channels: list[Channel] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates(self) -> Campaign:
        if self.starts.tzinfo is not None or self.ends.tzinfo is not None:
            raise ValueError(
                f"campaign {self.name}: write starts/ends as local times without an offset; "
                "time_zone says where"
            )
        if self.ends <= self.starts:
            raise ValueError(f"campaign {self.name}: ends ({self.ends}) must be after starts")
        return self


class Earning(_Strict):
    rates: dict[CurrencyCode, Rate]
    return_window_days: int = Field(ge=0, le=365)
    #: Points expire this many days after they were earned (`per_lot`); the program's `[expiry]`
    #: says it otherwise, and one of the two must be given.
    expiry_days: int | None = Field(default=None, ge=1, le=3650)
    #: Bonus by item category, on the category's share of the order.
    categories: dict[Category, BonusMultiplier] = Field(default_factory=dict)
    #: Bonus by the channel the purchase was made on.
    channels: dict[Channel, BonusMultiplier] = Field(default_factory=dict)
    campaigns: list[Campaign] = Field(default_factory=list)
    #: At most this many points per order, everything included.
    max_points_per_order: int | None = Field(default=None, gt=0)
    #: What a refund of matured points does (contract section 2 is `proportional`).
    refund_policy: RefundPolicy = "proportional"

    @model_validator(mode="after")
    def _unique_campaigns(self) -> Earning:
        names = [campaign.name for campaign in self.campaigns]
        if len(set(names)) != len(names):
            raise ValueError(f"campaign names must be unique: {names}")
        return self


ExpiryPolicy = Literal["per_lot", "rolling", "calendar"]


class Expiry(_Strict):
    """When points expire (docs/points.md#expiry-policies): `per_lot`, `days` after the lot was
    earned; `rolling`, `days` after the member's latest earning or spending; `calendar`, points
    earned in year Y at the end of year Y + `years` in the program's `time_zone`."""

    policy: ExpiryPolicy = "per_lot"
    days: int | None = Field(default=None, ge=1, le=3650)
    years: int | None = Field(default=None, ge=0, le=10)

    @model_validator(mode="after")
    def _one_measure(self) -> Expiry:
        if self.policy == "calendar":
            if self.days is not None:
                raise ValueError(
                    'policy "calendar" counts whole years: write years = N (points earned in '
                    "year Y expire at the end of year Y + N), not days"
                )
            if self.years is None:
                raise ValueError(
                    'policy "calendar" needs years = N: points earned in year Y expire at the '
                    "end of year Y + N"
                )
        else:
            if self.years is not None:
                raise ValueError(
                    f'policy "{self.policy}" counts days: write days = N (years is for '
                    'policy "calendar")'
                )
            if self.days is None:
                raise ValueError(
                    f'policy "{self.policy}" needs days = N: how many days points live after '
                    + ("they were earned" if self.policy == "per_lot" else "the last activity")
                )
        return self


class Benefit(_Strict):
    """Something a tier brings, named for members in every language (free shipping, early
    access, priority service). The id says which benefits two tiers share."""

    id: RuleName
    name: LocalizedText


def _one_description(value: Any) -> Any:
    # The program files of before 2026-12 described a tier in one text per language.
    if isinstance(value, dict):
        return [{"id": "tier", "name": value}]
    return value


class Tier(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    threshold: Annotated[Money, Field(ge=0)]
    multiplier: Multiplier
    benefits: Annotated[list[Benefit], BeforeValidator(_one_description)] = Field(
        default_factory=list
    )

    @model_validator(mode="after")
    def _unique_benefits(self) -> Tier:
        ids = [benefit.id for benefit in self.benefits]
        if len(set(ids)) != len(ids):
            raise ValueError(f"tier {self.name}: benefit ids must be unique: {ids}")
        return self

    def new_benefits(self, lower: Tier | None) -> list[Benefit]:
        """The benefits this tier has that `lower` has not (all of them without one)."""
        held = {benefit.id for benefit in lower.benefits} if lower else set()
        return [benefit for benefit in self.benefits if benefit.id not in held]


class Tiers(_Strict):
    validity_days: int = Field(ge=1, le=3650)
    qualifying_window_days: int = Field(ge=1, le=3650)
    ladder: list[Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _ladder_climbs(self) -> Tiers:
        if self.ladder[0].threshold != 0:
            raise ValueError(f"the first tier ({self.ladder[0].name}) must start at threshold 0")
        for lower, upper in zip(self.ladder, self.ladder[1:], strict=False):
            if upper.threshold <= lower.threshold:
                raise ValueError(
                    f"tier thresholds must rise: {upper.name} ({upper.threshold}) "
                    f"is not above {lower.name} ({lower.threshold})"
                )
        names = [tier.name for tier in self.ladder]
        if len(set(names)) != len(names):
            raise ValueError(f"tier names must be unique: {names}")
        return self


class Feedback(_Strict):
    """Surveys after purchases and service recovery (the feedback service)."""

    #: A survey invitation goes out this long after the purchase's `time`.
    delay_hours: int = Field(72, ge=0, le=24 * 90)
    #: Share of purchases sampled for a survey (deterministic from the order id).
    sample_rate: float = Field(0.3, ge=0, le=1)
    #: At most one invitation per member in this many days.
    cooldown_days: int = Field(30, ge=0, le=365)
    #: A survey link (its signed token) is valid this long after it is sent.
    survey_validity_days: int = Field(14, ge=1, le=90)
    #: Goodwill points granted to a detractor (score 0-6) who answered about an order; 0 = none.
    goodwill_points: int = Field(0, ge=0, le=100_000)
    #: Answers in the app about no order, per member and calendar day (in `time_zone`): more
    #: are refused (429), so no one can flood customer service with detractor alerts.
    answers_without_order_per_day: int = Field(3, ge=1, le=100)


class Rewards(_Strict):
    """The rewards catalogue's rules (the catalogue itself is data, kept by the points service)."""

    #: Whether the points of a coupon that expires unused go back to the member.
    return_points_on_coupon_expiry: bool = False
    #: Members are reminded this many days before an unused coupon expires.
    coupon_reminder_days: int = Field(7, ge=1, le=365)


class Referral(_Strict):
    """Referral bonuses (contract 5.3): paid once the referred member's first purchase is
    available (its return window over), once per referred member."""

    referrer_points: int = Field(500, ge=0, le=1_000_000)
    referee_points: int = Field(200, ge=0, le=1_000_000)
    #: The most referral bonuses one referrer earns in any 365 days.
    max_per_year: int = Field(20, ge=0, le=10_000)


class ActionRule(_Strict):
    """Points for a `member.action` (contract 5.3): at most `per_day` a day (the program's time
    zone), or only the first of the member's ever when `once`. Quiet unless `notify`: then the
    member hears of the points (`action.rewarded`, the `action_rewarded` message)."""

    points: int = Field(ge=1, le=1_000_000)
    per_day: int | None = Field(default=None, ge=1, le=1000)
    once: bool = False
    notify: bool = False


class Abuse(_Strict):
    """Thresholds past which a member is flagged for review (docs/points.md#abuse-controls):
    while a flag is open the points they earn stay pending until support or an admin releases
    or voids them. Each threshold is off unless set; a member goes over one when what it counts
    is above it."""

    #: Refunds recorded for the member in the last 30 days.
    refunds_per_30_days: int | None = Field(default=None, ge=0, le=100_000)
    #: Amount refunded over amount purchased in the last 30 days (`"0.5"`: half)...
    refund_ratio: Decimal | None = Field(default=None, gt=0, le=1)
    #: ...once the member made at least this many purchases in those 30 days.
    refund_ratio_min_purchases: int = Field(default=3, ge=1, le=100_000)
    #: Points earned by purchases and actions on one day (the program's time zone).
    points_per_day: int | None = Field(default=None, ge=1, le=100_000_000)
    #: `member.action`s the program names, taken on one day (the program's time zone).
    actions_per_day: int | None = Field(default=None, ge=1, le=100_000)

    @property
    def enabled(self) -> bool:
        return any(
            value is not None
            for value in (
                self.refunds_per_30_days,
                self.refund_ratio,
                self.points_per_day,
                self.actions_per_day,
            )
        )


#: Points a birthday brings a member of one tier.
BirthdayPoints = Annotated[int, Field(ge=0, le=1_000_000)]


def _default_birthday_points() -> dict[str, int]:
    return {"bronze": 0, "silver": 100, "gold": 200, "platinum": 500}


def _default_actions() -> dict[str, ActionRule]:
    return {
        "review.written": ActionRule(points=20, per_day=5),
        "profile.completed": ActionRule(points=50, once=True),
        "store.checkin": ActionRule(points=5, per_day=1),
    }


class Program(_Strict):
    currency: CurrencyCode
    #: The most points one adjustment by `loyalty:support` may grant or take (contract 5.1);
    #: an admin's adjustments have no such limit.
    support_adjustment_limit: int = Field(5000, ge=0, le=100_000_000)
    earning: Earning
    tiers: Tiers
    feedback: Feedback = Field(default_factory=Feedback)
    rewards: Rewards = Field(default_factory=Rewards)
    referral: Referral = Field(default_factory=Referral)
    #: Points per `member.action`, by action; an action not named here earns nothing.
    actions: dict[RuleName, ActionRule] = Field(default_factory=_default_actions)
    #: Points on the member's birthday (in `time_zone`), once a year, by the member's tier; a
    #: tier not named here (or 0) earns nothing. Every name must be a tier of the ladder.
    birthday_points: dict[str, BirthdayPoints] = Field(default_factory=_default_birthday_points)
    #: Thresholds that flag a member for review (all off by default).
    abuse: Abuse = Field(default_factory=Abuse)

    # Finance and program analytics (contract 5.5; docs/finance.md) ---------------------------
    #: Money per point in `currency`: what the liability report values an outstanding point at.
    point_value: PointValue = Decimal("0.01")
    #: The program's own time zone: the liability report's months, run-time campaigns shown in
    #: local time.
    time_zone: TimeZoneName = "Asia/Shanghai"
    #: When points expire, if not `earning.expiry_days` after they were earned.
    expiry: Expiry | None = None

    @model_validator(mode="after")
    def _expiry_said_once(self) -> Program:
        if self.expiry is not None and self.earning.expiry_days is not None:
            raise ValueError(
                "earning.expiry_days and [expiry] both say when points expire: keep [expiry] "
                "(policy, days or years) and remove earning.expiry_days"
            )
        if self.expiry is None and self.earning.expiry_days is None:
            raise ValueError(
                "the program must say when points expire: earning.expiry_days = N, or an "
                '[expiry] section (policy = "per_lot", "rolling" or "calendar", with days or '
                "years)"
            )
        return self

    @property
    def points_expiry(self) -> Expiry:
        """The expiry in force: `[expiry]`, or `per_lot` after `earning.expiry_days`."""
        if self.expiry is not None:
            return self.expiry
        return Expiry(policy="per_lot", days=self.earning.expiry_days)

    @model_validator(mode="after")
    def _birthday_tiers(self) -> Program:
        names = [tier.name for tier in self.tiers.ladder]
        unknown = sorted(set(self.birthday_points) - set(names))
        if unknown and "birthday_points" in self.model_fields_set:
            raise ValueError(
                f"birthday_points names tiers the ladder does not have: {unknown} "
                f"(the ladder: {names})"
            )
        # the defaults keep only the tiers this ladder has, so that the program shown (GET
        # /v1/program, a campaign's program) validates again when read back (frozen: set once)
        kept = {tier: points for tier, points in self.birthday_points.items() if tier in names}
        object.__setattr__(self, "birthday_points", kept)
        return self

    def birthday_bonus(self, tier: str) -> int:
        """The points a member of `tier` earns on their birthday (0: none)."""
        return self.birthday_points.get(tier, 0)

    @property
    def base_tier(self) -> Tier:
        return self.tiers.ladder[0]

    def tier(self, name: str) -> Tier | None:
        return next((tier for tier in self.tiers.ladder if tier.name == name), None)

    def tier_rank(self, name: str) -> int:
        """The tier's place on the ladder (0 for the base); a name it does not have counts as
        the base."""
        names = [tier.name for tier in self.tiers.ladder]
        return names.index(name) if name in names else 0
