"""What can go wrong with an answer, each with its HTTP status."""

from __future__ import annotations

from loyalty_shared.http.problems import ProblemError


class UnknownOrder(ProblemError):
    status = 422
    title = "Unknown order"
    type = "urn:loyalty:problem:unknown-order"


class AlreadyAnswered(ProblemError):
    status = 409
    title = "Already answered"
    type = "urn:loyalty:problem:already-answered"


class InvitationNotFound(ProblemError):
    status = 404
    title = "No such survey"
    type = "urn:loyalty:problem:not-found"


class TooManyAnswers(ProblemError):
    status = 429
    title = "Too many answers today"
    type = "urn:loyalty:problem:too-many-answers"
