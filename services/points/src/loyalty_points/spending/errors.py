"""What can go wrong with a spend (a redemption, a hold), each with its HTTP status."""

from __future__ import annotations

from loyalty_shared.http.problems import ProblemError


class InsufficientPoints(ProblemError):
    status = 409
    title = "Not enough available points"
    type = "urn:loyalty:problem:insufficient-points"


class RefusalRecorded(InsufficientPoints):
    """Refused and kept under the Idempotency-Key: the request's transaction commits the record
    (see loyalty_shared.http.db) and the member is answered 409."""

    commit_transaction = True


class IdempotencyKeyReused(ProblemError):
    status = 422
    title = "Idempotency-Key already used for another request"
    type = "urn:loyalty:problem:idempotency-key-reused"


class MissingIdempotencyKey(ProblemError):
    status = 400
    title = "Idempotency-Key header required"
    type = "urn:loyalty:problem:idempotency-key-required"


class SpendNotFound(ProblemError):
    status = 404
    title = "No such redemption or hold"
    type = "urn:loyalty:problem:not-found"
