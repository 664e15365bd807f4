"""What can go wrong with a redemption, each with its HTTP status."""

from __future__ import annotations

from loyalty_shared.http.problems import ProblemError


class InsufficientPoints(ProblemError):
    status = 409
    title = "Not enough available points"
    type = "urn:loyalty:problem:insufficient-points"


class IdempotencyKeyReused(ProblemError):
    status = 422
    title = "Idempotency-Key already used for another request"
    type = "urn:loyalty:problem:idempotency-key-reused"


class MissingIdempotencyKey(ProblemError):
    status = 400
    title = "Idempotency-Key header required"
    type = "urn:loyalty:problem:idempotency-key-required"


class RedemptionNotFound(ProblemError):
    status = 404
    title = "No such redemption"
    type = "urn:loyalty:problem:not-found"
