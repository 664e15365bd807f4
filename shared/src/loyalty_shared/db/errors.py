"""Which database failures are worth retrying: the rest are bugs or bad input."""

from __future__ import annotations

import asyncio

import asyncpg

_TRANSIENT_SQLSTATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
    "57P01",  # admin_shutdown
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now
    "53300",  # too_many_connections
    "08000",
    "08003",
    "08006",
    "08001",
    "08004",
}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        return getattr(exc, "sqlstate", None) in _TRANSIENT_SQLSTATES
    return isinstance(
        exc,
        OSError | asyncio.TimeoutError | asyncpg.InterfaceError | ConnectionError,
    )
