"""What can go wrong with a tier request, each with its HTTP status."""

from __future__ import annotations

from loyalty_shared.http.problems import ProblemError


class UnknownTier(ProblemError):
    status = 422
    title = "No such tier in the program"
    type = "urn:loyalty:problem:unknown-tier"
