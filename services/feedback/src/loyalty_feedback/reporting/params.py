"""What the reports and the cases take alike: the period, and the cursor of a page of answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query

from loyalty_shared.http.problems import ProblemError

Days = Annotated[int, Query(ge=1, le=3650, description="The last N days of answers")]


class BadCursor(ProblemError):
    status = 422
    title = "Invalid cursor"
    type = "urn:loyalty:problem:invalid-cursor"


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """A `answered_at|feedback_id` cursor this service handed out."""
    try:
        at, _, feedback_id = cursor.partition("|")
        return datetime.fromisoformat(at), uuid.UUID(feedback_id)
    except ValueError:
        raise BadCursor("the cursor is not one this API returned") from None
