"""Keyset paging: a page's cursor is the id of the last row it showed, as decimal digits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

#: Up to 19 digits, which is more than a bigint holds (see `before_id`).
PageCursor = Annotated[str | None, Query(pattern=r"^[0-9]{1,19}$")]

#: The largest id a bigint holds.
_MAX_ID = 2**63 - 1


def before_id(cursor: str | None) -> int | None:
    """The id rows must be older than. A cursor above the largest bigint means "older than
    everything", not a value the database refuses (a 500; found by the fuzz tests)."""
    return min(int(cursor), _MAX_ID) if cursor else None
