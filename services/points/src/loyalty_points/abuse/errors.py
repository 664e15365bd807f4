"""What can go wrong with a review, with its HTTP status."""

from __future__ import annotations

from loyalty_shared.http.problems import ProblemError


class NotFlagged(ProblemError):
    """A review of a member with no open flag: nothing is held, nothing to decide."""

    status = 409
    title = "The member is not flagged for review"
    type = "urn:loyalty:problem:not-flagged"
