"""What can go wrong with a hold, each with its HTTP status."""

from __future__ import annotations

from loyalty_shared.http.problems import ProblemError


class HoldNotFound(ProblemError):
    status = 404
    title = "No such hold"
    type = "urn:loyalty:problem:not-found"


class HoldSettled(ProblemError):
    status = 409
    title = "The hold is no longer active"
    type = "urn:loyalty:problem:hold-settled"
