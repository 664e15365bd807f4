"""What can go wrong with the catalogue and with redeeming a reward, each with its HTTP status."""

from __future__ import annotations

from loyalty_shared.http.problems import ProblemError


class RewardNotFound(ProblemError):
    status = 404
    title = "No such reward"
    type = "urn:loyalty:problem:not-found"


class RewardExists(ProblemError):
    status = 409
    title = "A reward with this id exists"
    type = "urn:loyalty:problem:reward-exists"


class RewardRetired(ProblemError):
    status = 409
    title = "The reward is retired"
    type = "urn:loyalty:problem:reward-retired"


class CatalogueRefusal(ProblemError):
    """A change the reward as it stands cannot take (its code source, codes already there)."""

    status = 409
    title = "The reward cannot take this change"
    type = "urn:loyalty:problem:reward-conflict"


class DuplicateCodes(ProblemError):
    status = 409
    title = "Codes already known: nothing was stored"
    type = "urn:loyalty:problem:duplicate-codes"


class UnknownReward(ProblemError):
    status = 422
    title = "No such reward in the catalogue"
    type = "urn:loyalty:problem:unknown-reward"


class RedemptionNotFound(ProblemError):
    status = 404
    title = "No such reward redemption"
    type = "urn:loyalty:problem:not-found"


class CouponAlreadyUsed(ProblemError):
    status = 409
    title = "The coupon was used: the redemption cannot be cancelled"
    type = "urn:loyalty:problem:coupon-used"


class CouponExpired(ProblemError):
    status = 409
    title = "The coupon expired: the redemption cannot be cancelled"
    type = "urn:loyalty:problem:coupon-expired"


class RedemptionRefused(ProblemError):
    """A redemption refused for one of the contract's reasons. Kept under its Idempotency-Key,
    so the request's transaction commits that record (loyalty_shared.http.db) and the same key
    and body are answered the same again."""

    status = 409
    commit_transaction = True


class OutOfStock(RedemptionRefused):
    title = "The reward is out of stock"
    type = "urn:loyalty:problem:out-of-stock"


class TierTooLow(RedemptionRefused):
    title = "The member's tier is below the reward's"
    type = "urn:loyalty:problem:tier-too-low"


class LimitReached(RedemptionRefused):
    title = "The member has redeemed this reward as often as it allows"
    type = "urn:loyalty:problem:limit-reached"


class NotAvailable(RedemptionRefused):
    title = "The reward is not available now"
    type = "urn:loyalty:problem:not-available"


#: By the last part of their problem type, as a refusal is stored.
REFUSALS: dict[str, type[RedemptionRefused]] = {
    cls.type.rsplit(":", 1)[1]: cls for cls in (OutOfStock, TierTooLow, LimitReached, NotAvailable)
}
