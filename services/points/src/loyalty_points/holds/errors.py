"""What can go wrong with a hold besides any spend's problems (spending/errors.py)."""

from __future__ import annotations

from loyalty_shared.http.problems import ProblemError


class HoldSettled(ProblemError):
    status = 409
    title = "The hold is no longer active"
    type = "urn:loyalty:problem:hold-settled"
